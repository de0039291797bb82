"""The Mini App used as a rep and a lead would use it, in Chromium at a phone's width, and the
bot showing what was done there; screenshots in Chinese and English."""

from __future__ import annotations

from bot.console.driver import Driver
from bot.i18n import catalogue
from tests.browser.conftest import Phone
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

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
