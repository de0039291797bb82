"""A card's timeline in the Mini App shows the photo and plays the voice note a rep sent the bot,
fetched only once the timeline comes into view."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Request

from bot.console.driver import Driver
from bot.i18n import catalogue
from tests.browser.conftest import Phone
from tests.e2e.world import REP, add_customer, build_world

TEXTS = catalogue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_reps_photo_and_voice_note_show_in_the_cards_timeline(
    web_bot: Driver, phone: Phone, lang: str
) -> None:
    await build_world(web_bot)
    cid = await add_customer(web_bot, REP, "陈静")
    await web_bot.send(REP, "陈静")
    await web_bot.press(REP, "记录")
    await web_bot.send_photo(REP, jpeg(64, 48), caption="样品照片")
    await web_bot.press(REP, "再记一条")
    await web_bot.send_voice(REP, b"OggS\x00\x02voice note", duration=4)
    await web_bot.press(REP, "再记一条")
    await web_bot.send_file(REP, "报价单.pdf", b"%PDF-1.7 quote", "application/pdf")
    if lang == "en":
        await web_bot.send(REP, "/language")
        await web_bot.press(REP, "English")
    page = phone.page
    asked: list[str] = []

    def note_files(request: Request) -> None:
        if "/api/notes/" in request.url:
            asked.append(request.url)

    page.on("request", note_files)
    await phone.open_as(web_bot, REP, "王芳", language=lang, hash_=f"#card/{cid}")
    await page.locator('input[name="name"]').wait_for()
    await page.wait_for_timeout(300)
    assert asked == []  # the card opens without its timeline's files

    entries = page.locator(".timeline li")
    await entries.first.scroll_into_view_if_needed()
    image = page.locator(".timeline .thumb img")
    await image.wait_for()
    await page.wait_for_function("() => document.querySelector('.timeline .thumb img').naturalWidth > 0")
    assert await image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
    assert await image.get_attribute("alt") == "样品照片"
    audio = page.locator(".timeline audio")
    await audio.wait_for(state="attached")
    assert (await audio.get_attribute("src") or "").startswith("blob:")
    assert await audio.evaluate("a => a.controls") is True
    assert await audio.get_attribute("aria-label") == TEXTS.text(lang, "web.voice")
    assert len(asked) == 2 and all("/api/notes/" in url for url in asked)
    assert await phone.overflowing() == []
    await phone.screenshot(f"card-files-{lang}")

    # A tap shows the photo full size over the page; Close (a text from the catalogue) hides it.
    await page.locator(".timeline .thumb").click()
    overlay = page.locator(".overlay")
    await overlay.locator("img").wait_for()
    assert await overlay.locator("img").evaluate("img => img.naturalWidth") == 64
    await phone.screenshot(f"card-photo-{lang}")
    await overlay.locator("button", has_text=TEXTS.text(lang, "web.close")).click()
    await overlay.wait_for(state="detached")

    # A document is fetched only when tapped, then saved under the name the server gives it.
    assert len(asked) == 2
    download = page.locator(".timeline .file button", has_text=TEXTS.text(lang, "web.download"))
    async with page.expect_download() as saving:
        await download.click()
    saved = await saving.value
    assert saved.suggested_filename.startswith("note-") and saved.suggested_filename.endswith(".pdf")
    assert len(asked) == 3
    assert phone.refused == []
