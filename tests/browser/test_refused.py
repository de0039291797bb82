"""What the Mini App shows someone asking for what the bot would not show them: the same
refusal, and none of the data."""

from __future__ import annotations

from bot.console.driver import Driver
from bot.i18n import catalogue
from tests.browser.conftest import Phone
from tests.e2e.world import OTHER_REP, REP, REP2, add_customer, build_world

TEXTS = catalogue()


async def test_another_reps_customer_by_its_id_is_refused(web_bot: Driver, phone: Phone) -> None:
    await build_world(web_bot)
    theirs = await add_customer(web_bot, OTHER_REP, "秘密客户", "13800138009")
    teammates = await add_customer(web_bot, REP2, "同事的客户", "13800138008")
    page = phone.page
    await phone.open_as(web_bot, REP, "王芳", hash_=f"#card/{theirs}")
    message = page.locator("p.error")
    await message.wait_for()
    assert await message.inner_text() == TEXTS.text("zh", "plain.web.not_found")
    assert "秘密客户" not in await page.content()
    assert await page.locator("input").count() == 0

    await page.evaluate("(id) => { location.hash = '#card/' + id; }", teammates)
    await page.locator("p.error", has_text=TEXTS.text("zh", "plain.web.not_found")).wait_for()
    assert "同事的客户" not in await page.content()
    # Their own board has neither.
    await page.evaluate("() => { location.hash = '#board'; }")
    await page.locator("h1", has_text="客户管道").wait_for()
    content = await page.content()
    assert "秘密客户" not in content and "同事的客户" not in content
    assert phone.page_errors == [] and phone.refused == []
