"""Nothing typed into the Mini App's card form is lost: leaving asks first, a card changed in the
chat meanwhile keeps the typed changes over the latest, and coming back from the chat shows what
was done there."""

from __future__ import annotations

from bot.console.driver import Driver
from bot.i18n import catalogue
from tests.browser.conftest import Phone
from tests.e2e.world import REP, add_customer, build_world, texts

TEXTS = catalogue()


async def test_back_with_unsaved_changes_asks_before_dropping_them(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳", hash_=f"#card/{zhang}")
    email = page.locator('input[name="email"]')
    await email.wait_for()
    assert await page.evaluate("Telegram.WebApp.isClosingConfirmationEnabled") is False
    await email.fill("wang@example.com")
    assert await page.evaluate("Telegram.WebApp.isClosingConfirmationEnabled") is True  # closing asks too

    await page.evaluate("window.__tgStandin.confirmAnswer = false")
    await phone.press("back")
    await page.wait_for_function("window.__tgStandin.popups.length === 1")
    popup = (await phone.standin())["popups"][0]
    assert (popup["kind"], popup["message"]) == ("confirm", TEXTS.text("zh", "web.discard"))
    await page.wait_for_timeout(100)
    assert await email.input_value() == "wang@example.com"  # "Cancel": still there
    assert "#card/" in page.url

    await page.evaluate("window.__tgStandin.confirmAnswer = true")
    await phone.press("back")
    await page.locator("h1", has_text="客户管道").wait_for()
    assert await page.evaluate("Telegram.WebApp.isClosingConfirmationEnabled") is False
    assert "wang@example.com" not in texts(await web_bot.send(REP, "张伟"))


async def test_a_card_changed_in_the_chat_meanwhile_keeps_what_was_typed(
    web_bot: Driver, phone: Phone
) -> None:
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳", hash_=f"#card/{zhang}")
    email = page.locator('input[name="email"]')
    await email.wait_for()
    await email.fill("wang@example.com")

    await web_bot.send(REP, "张伟")  # meanwhile, in the chat, the customer moves on a stage
    await web_bot.press(REP, TEXTS.text("zh", "btn.stage"))
    await web_bot.press(REP, TEXTS.text("zh", "stage.present"))

    await phone.press("main")
    await page.locator("#toast", has_text=TEXTS.text("zh", "web.changed_kept")).wait_for()
    assert "讲解示范" in await page.locator("p.hint").first.inner_text()  # the latest card
    assert await email.input_value() == "wang@example.com"  # with the change typed here
    await phone.press("main")
    await page.locator("#toast", has_text=TEXTS.text("zh", "web.saved")).wait_for()
    card = texts(await web_bot.send(REP, "张伟"))
    assert "wang@example.com" in card and "讲解示范" in card


async def test_coming_back_from_the_chat_shows_what_was_done_there(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳")
    await page.locator('.column[data-stage="find"] article.card', has_text="张伟").wait_for()
    await page.evaluate("window.__tgStandin.setActive(false)")  # to the chat, minimised
    await web_bot.send(REP, "张伟")
    await web_bot.press(REP, TEXTS.text("zh", "btn.stage"))
    await web_bot.press(REP, TEXTS.text("zh", "stage.present"))
    await page.evaluate("window.__tgStandin.setActive(true)")
    await page.locator('.column[data-stage="present"] article.card', has_text="张伟").wait_for()
    assert zhang > 0 and phone.page_errors == []
