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


async def test_a_card_dragged_to_another_column_moves_there_as_in_the_bot(
    web_bot: Driver, phone: Phone
) -> None:
    """Dragged with the mouse here (a finger lifts it by holding it first: see app.js), held at
    the board's edge so the board scrolls to the column, and dropped there."""
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳")
    card = page.locator(f'article.card[data-id="{zhang}"]')
    await card.wait_for()
    box = await card.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 40, box["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 120, box["y"] + 20, steps=5)  # lifted: it follows the pointer
    await page.mouse.move(350, box["y"] + 20, steps=5)  # at the right edge: the board scrolls
    target = page.locator('.column[data-stage="objections"]')
    await page.wait_for_function(
        """() => document.querySelector('.column[data-stage="objections"]')
                     .getBoundingClientRect().left < 250"""
    )
    column = await target.bounding_box()
    assert column is not None
    await page.mouse.move(
        column["x"] + column["width"] / 2, column["y"] + 40, steps=3
    )  # off the edge: it stops
    assert await target.get_attribute("class") == "column empty drop"
    await page.mouse.up()
    await page.locator('.column[data-stage="objections"] article.card', has_text="张伟").wait_for()
    assert await page.locator("input[name=birthday]").count() == 0  # the drop opened no card
    assert "处理异议" in texts(await web_bot.send(REP, "张伟"))
    assert phone.page_errors == []


async def test_a_finger_holds_a_card_to_lift_it_and_a_swipe_still_scrolls(
    web_bot: Driver, phone: Phone
) -> None:
    """Touch, as on a phone: a card held still for a moment is lifted and follows the finger to
    the column it is dropped on; a quick swipe over a card scrolls the board and moves nothing."""
    await build_world(web_bot)
    zhang = await add_customer(web_bot, REP, "张伟")
    await add_customer(web_bot, REP, "刘洋")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳")
    card = page.locator(f'article.card[data-id="{zhang}"]')
    await card.wait_for()
    cdp = await page.context.new_cdp_session(page)

    async def touch(kind: str, x: float = 0, y: float = 0) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    box = await card.bounding_box()
    assert box is not None
    x, y = box["x"] + 40, box["y"] + 10
    await touch("touchStart", x, y)
    await page.wait_for_timeout(500)  # held still: lifted
    await page.locator(".card.ghost").wait_for()
    column = await page.locator('.column[data-stage="evaluate"]').bounding_box()
    assert column is not None
    end_x = min(column["x"] + column["width"] / 2, 320)
    for step in range(1, 6):
        await touch("touchMove", x + (end_x - x) * step / 5, y + 30)
    assert (
        await page.evaluate("document.querySelector('.board').scrollLeft") == 0
    )  # the finger moved the card
    await touch("touchEnd")
    await page.locator('.column[data-stage="evaluate"] article.card', has_text="张伟").wait_for()
    assert "评估客户" in texts(await web_bot.send(REP, "张伟"))

    liu = page.locator('.column[data-stage="find"] article.card', has_text="刘洋")
    box = await liu.bounding_box()
    assert box is not None
    x, y = box["x"] + 150, box["y"] + 10
    await touch("touchStart", x, y)
    for step in range(1, 6):  # a swipe to the left, at once
        await touch("touchMove", x - step * 30, y)
    await touch("touchEnd")
    await page.wait_for_function("document.querySelector('.board').scrollLeft > 0")
    assert await page.locator(".card.ghost").count() == 0
    assert await page.locator('.column[data-stage="find"] article.card', has_text="刘洋").count() == 1
    assert phone.page_errors == []
