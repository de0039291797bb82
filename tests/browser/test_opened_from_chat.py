"""The Mini App opened by a button in the chat (bot.telegram.mini_app): at the screen the button
names, with Back leading on to where a user expects."""

from __future__ import annotations

from playwright.async_api import Route

from bot.console.driver import Driver
from tests.browser.conftest import Phone
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts


async def test_a_cards_button_opens_its_form_and_back_leads_to_the_board(
    web_bot: Driver, phone: Phone
) -> None:
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    await add_customer(web_bot, REP, "刘洋")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳", query=f"?open=card_{zhang}")
    await page.locator('input[name="birthday"]').wait_for()
    assert await page.locator("h1").inner_text() == "张伟"
    assert (await page.evaluate("window.__tgStandin.BackButton"))["isVisible"] is True
    await phone.press("back")
    await page.locator("h1", has_text="客户管道").wait_for()
    assert await page.locator("article.card").count() == 2
    assert (await page.evaluate("window.__tgStandin.BackButton"))["isVisible"] is False
    assert phone.refused == []


async def test_a_digests_button_opens_the_dashboard(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    page = phone.page
    await phone.open_as(web_bot, LEAD, "李娜", query="?open=dashboard")
    await page.locator(".bar").first.wait_for()
    assert await page.locator(".bar").count() == 7


async def test_an_unknown_screen_opens_the_board(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    await add_customer(web_bot, REP, "张伟")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳", query="?open=card_x%3Calert")
    await page.locator("article.card").first.wait_for()
    assert phone.page_errors == []


async def test_behind_a_proxy_under_a_path_of_its_own_it_reads_and_saves(
    web_bot: Driver, phone: Phone
) -> None:
    """A proxy serving the Mini App at https://host/app/ (the prefix taken off on the way to the
    bot): the page asks for its script, styles and API beside itself."""
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    page = phone.page
    asked: list[str] = []

    async def strip_prefix(route: Route) -> None:
        asked.append(route.request.url)
        await route.continue_(url=route.request.url.replace("/app/", "/", 1))

    await page.route(f"{phone.base}/app/**", strip_prefix)
    phone.base += "/app"
    await phone.open_as(web_bot, REP, "王芳", query=f"?open=card_{zhang}")
    birthday = page.locator('input[name="birthday"]')
    await birthday.wait_for()
    await birthday.fill("5月17日")
    await phone.press("main")
    await page.locator("#toast", has_text="已保存").wait_for()
    await web_bot.send(REP, "张伟")
    assert "5月17日" in texts(await web_bot.press(REP, "个人"))
    paths = {url.split("/app/", 1)[1].split("?")[0] for url in asked}
    assert {
        "",
        "app.js",
        "app.css",
        "api/me",
        f"api/customers/{zhang}/form",
        f"api/customers/{zhang}",
    } <= paths
