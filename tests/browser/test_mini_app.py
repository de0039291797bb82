"""The Mini App used as a rep and a lead would use it, in Chromium at a phone's width, and the
bot showing what was done there; screenshots in Chinese and English."""

from __future__ import annotations

from datetime import timedelta

from bot.console.driver import Driver
from bot.i18n import catalogue
from tests.browser.conftest import Phone
from tests.e2e.test_web import seed_lists
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, texts

TEXTS = catalogue()


async def test_a_rep_moves_a_customer_and_edits_the_birthday_and_the_bot_shows_both(
    web_bot: Driver, phone: Phone
) -> None:
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    await add_customer(web_bot, REP, "刘洋")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳")
    card = page.locator(f'article.card[data-id="{zhang}"]')
    await card.wait_for()
    assert await page.locator("h1").inner_text() == "客户管道 · 2"
    assert await phone.overflowing() == []
    await phone.screenshot("board-zh")

    await card.locator("select.move").select_option("closing")
    await page.locator("#toast", has_text="已移到「促成交易」").wait_for()
    await page.locator('.column[data-stage="closing"] article.card', has_text="张伟").wait_for()
    assert "促成交易" in texts(await web_bot.send(REP, "张伟"))  # the bot's card, at once

    await page.locator(f'article.card[data-id="{zhang}"] .name').click()
    birthday = page.locator('input[name="birthday"]')
    await birthday.wait_for()
    main = await page.evaluate("window.__tgStandin.MainButton")
    assert (main["isVisible"], main["text"]) == (True, "保存")  # Telegram's Main button saves
    assert (await page.evaluate("window.__tgStandin.BackButton"))["isVisible"] is True
    await page.locator('input[name="email"]').fill("not an address")
    await birthday.fill("农历八月十五")
    await page.evaluate("window.__tgStandin.press('main')")
    bad = page.locator('label.field.bad[data-key="email"] .error')
    await bad.wait_for()
    assert await bad.inner_text() == TEXTS.text("zh", "error.email")
    assert "八月十五" not in texts(await web_bot.send(REP, "张伟"))  # nothing saved while one field is bad
    await page.locator('input[name="email"]').fill("")
    await page.evaluate("window.__tgStandin.press('main')")
    await page.locator("#toast", has_text="已保存").wait_for()
    await web_bot.send(REP, "张伟")
    assert "八月十五" in texts(await web_bot.press(REP, "个人"))
    assert await phone.overflowing() == []
    await phone.screenshot("card-zh")
    await page.evaluate("window.__tgStandin.press('back')")
    await page.locator(f'article.card[data-id="{zhang}"]').wait_for()
    assert phone.refused == []  # nothing but the bot's own server was asked for anything


async def test_a_lead_reads_the_dashboard_in_english_and_opens_a_bar(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    await add_customer(web_bot, REP, "张伟")
    await web_bot.send(REP, "张伟")
    await web_bot.press(REP, "记录")
    await web_bot.send(REP, "见面聊了新品")
    await web_bot.send(LEAD, "/language")
    await web_bot.press(LEAD, "English")
    page = phone.page
    await phone.open_as(web_bot, LEAD, "李娜", language="en", hash_="#dashboard")
    await page.locator("h1", has_text="Team dashboard").wait_for()
    assert await page.locator(".bar").count() == 7
    await page.locator(".bar").last.click()
    row = page.locator("table tr", has_text="张伟")
    await row.first.wait_for()
    assert await phone.overflowing() == []
    await phone.screenshot("dashboard-en")
    await page.locator("button.chip", has_text="Board").click()
    await page.locator("h1", has_text="Pipeline").wait_for()
    await phone.screenshot("board-en")
    assert phone.refused == []


async def test_forged_sign_in_data_shows_no_data(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    await add_customer(web_bot, REP, "张伟")
    fields = "user=%7B%22id%22%3A{0}%2C%22first_name%22%3A%22x%22%7D&auth_date=1&hash={1}"
    await phone.open_with(fields.format(REP, "0" * 64))
    message = phone.page.locator("p.error")
    await message.wait_for()
    assert await message.inner_text() == TEXTS.text("zh", "plain.web.invalid")
    assert await phone.page.locator("article.card").count() == 0


async def test_a_lead_reads_the_digests_lists_on_the_dashboard_and_opens_a_customer(
    web_bot: Driver, phone: Phone
) -> None:
    world = await build_world(web_bot)
    ids = await seed_lists(web_bot, world.team)
    page = phone.page
    await phone.open_as(web_bot, LEAD, "李娜", hash_="#dashboard")
    sections = page.locator("section.list")
    await sections.first.wait_for()
    headings = [await h.inner_text() for h in await page.locator("section.list h2").all()]
    assert headings == ["⏰ 逾期跟进（13）", "😟 投诉（1）", "⚠️ 流失风险（1）", "⭐ A 类未联系（2）"]
    overdue = page.locator('section.list[data-list="overdue"] li')
    assert await overdue.count() == 10
    assert await overdue.first.inner_text() == "陈静\nTom\n逾期 20 天（{}）\n送样品".format(
        f"{(web_bot.services.today() - timedelta(days=20)).isoformat()} 到期"
    )
    complaint = page.locator('section.list[data-list="complaints"] li')
    assert "“包装破了”" in await complaint.inner_text()
    risk = await page.locator('section.list[data-list="at_risk"] li').inner_text()
    assert "刘洋" in risk and "累计 ¥3,001.00" in risk
    quiet = page.locator('section.list[data-list="quiet_a"] li')
    assert [await q.inner_text() for q in await quiet.all()] == [
        "刘洋\n王芳\n建档 90 天来没有联系记录",
        "赵敏\nTom\n40 天没联系了",
    ]
    assert await phone.overflowing() == []
    await phone.screenshot("dashboard-lists-zh")
    more = page.locator('section.list[data-list="overdue"] button.chip', has_text="显示更多")
    await more.click()
    await overdue.nth(12).wait_for()
    assert await overdue.count() == 13 and await more.count() == 0

    # The rep chooser narrows the lists to that rep's customers.
    await page.locator("select.chip").select_option(str(REP2))
    await page.locator("section.list h2", has_text="逾期跟进（1）").wait_for()
    assert await page.locator('section.list[data-list="at_risk"] li').count() == 0
    assert await page.locator('section.list[data-list="at_risk"] p.hint').inner_text() == TEXTS.text(
        "zh", "digest.list_empty"
    )

    await page.locator('section.list[data-list="quiet_a"] li', has_text="赵敏").click()
    await page.locator("h1", has_text="赵敏").wait_for()
    assert await page.evaluate("location.hash") == f"#card/{ids['赵敏']}"
    await page.locator('input[name="name"]').wait_for()  # the card's form
    await phone.press("back")
    await page.locator("section.list h2", has_text="逾期跟进（1）").wait_for()  # the same rep still chosen

    await web_bot.send(LEAD, "/language")
    await web_bot.press(LEAD, "English")
    await page.reload()  # the page opened again: in the lead's language now, for the whole team
    await page.locator("section.list h2", has_text="Overdue (13)").wait_for()
    risk = await page.locator('section.list[data-list="at_risk"] li').inner_text()
    assert "usually every 30 days" in risk and "loyalty" in risk
    assert await phone.overflowing() == []
    await phone.screenshot("dashboard-lists-en")
    assert phone.refused == []
