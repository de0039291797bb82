"""The Bot API stand-in answers a real python-telegram-bot client the way Telegram does."""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from botapi_standin import BotApiStandIn, BotEvent, Limits, ManualClock
from botapi_standin.entities import EntityParseError, parse_html, parse_markdown_v2, utf16_len
from botapi_standin.spec import Validator, load_spec

USER = 1001
OTHER = 1002
WALL_CLOCK = 1_790_000_000.0
# The smallest valid PNG: a 1x1 image (photos must really be images).
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def clock() -> ManualClock:
    """The stand-in's rate-limit clock, moved by the tests."""
    return ManualClock()


@pytest.fixture
async def standin(clock: ManualClock) -> AsyncIterator[BotApiStandIn]:
    """A running stand-in with one user who started the bot and one who never did."""
    server = BotApiStandIn(clock=clock, wall_clock=lambda: WALL_CLOCK)
    server.add_user(USER, "李娜", username="lina")
    server.add_user(OTHER, "Tom", language_code="en")
    server.text_update(USER, "/start")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the stand-in."""
    async with Bot(standin.token, base_url=standin.base_url, base_file_url=standin.base_file_url) as client:
        yield client


@pytest.fixture
async def http(standin: BotApiStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for the Bot API endpoint of the stand-in."""
    async with httpx.AsyncClient(base_url=f"{standin.base_url}{standin.token}/") as client:
        yield client


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (briefly) until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def description(standin: BotApiStandIn) -> str | None:
    """The error description of the latest request, as Telegram worded it."""
    return standin.requests[-1].description


# ------------------------------------------------------------------ basics


async def test_get_me_describes_the_bot(bot: Bot, standin: BotApiStandIn) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "standin_bot" and me.id == standin.bot_id
    assert me.can_join_groups is True


async def test_send_message_is_recorded_and_returned_like_telegram(bot: Bot, standin: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("打开", callback_data="open:7")]])
    sent = await bot.send_message(
        USER, "<b>客户</b> 张伟 &amp; 🏟", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.text == "客户 张伟 & 🏟"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 2
    assert sent.reply_markup == keyboard
    assert sent.from_user is not None and sent.from_user.id == standin.bot_id
    assert sent.chat.id == USER and sent.chat.type == "private"
    assert sent.date.timestamp() == WALL_CLOCK
    record = standin.last_message(USER)
    assert record is not None and record.message_id == sent.message_id
    assert record.text == "<b>客户</b> 张伟 &amp; 🏟" and record.parse_mode == "HTML"
    assert record.plain_text == "客户 张伟 & 🏟" and record.kind == "text"
    assert record.reply_markup == keyboard.to_dict()
    assert not record.edited and not record.deleted


async def test_a_reply_keyboard_is_recorded_but_not_echoed(bot: Bot, standin: BotApiStandIn) -> None:
    sent = await bot.send_message(USER, "选择", reply_markup=ReplyKeyboardMarkup([["是", "否"]]))
    assert sent.reply_markup is None
    record = standin.last_message(USER)
    assert record is not None and record.reply_markup is not None
    assert record.reply_markup["keyboard"] == [[{"text": "是"}, {"text": "否"}]]


async def test_text_over_4096_characters_is_too_long(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "字" * 5000)
    assert description(standin) == "Bad Request: message is too long"
    assert standin.requests[-1].status == 400
    assert standin.messages(USER) == []


async def test_the_limit_counts_utf16_units_after_parsing(bot: Bot) -> None:
    # Markup does not count, and an emoji outside the BMP counts twice.
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "🏟" * 2049)


async def test_bad_html_cannot_be_parsed(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, "a <br> b", parse_mode=ParseMode.HTML)
    expected = 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 2'
    assert description(standin) == expected
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, "<b>bold", parse_mode=ParseMode.HTML)


async def test_whitespace_only_text_is_empty(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, " <b> </b>\n", parse_mode=ParseMode.HTML)


async def test_captions_are_limited_to_1024_characters(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(BadRequest):
        await bot.send_photo(USER, TINY_PNG, caption="c" * 1025)
    assert description(standin) == "Bad Request: message caption is too long"


async def test_callback_data_over_64_bytes_is_invalid(bot: Bot, standin: BotApiStandIn) -> None:
    # 22 Chinese characters are 66 bytes in UTF-8.
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="客" * 22)]])
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "hi", reply_markup=keyboard)
    assert description(standin) == "Bad Request: BUTTON_DATA_INVALID"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 64)]])
    await bot.send_message(USER, "hi", reply_markup=keyboard)


async def test_inline_buttons_need_exactly_one_valid_action(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "hi", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x")]]))
    assert description(standin) == (
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
    )
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="http://localhost:8080/a")]])
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "hi", reply_markup=bad_url)
    assert description(standin) == (
        "Bad Request: inline keyboard button URL 'http://localhost:8080/a' is invalid: Wrong HTTP URL"
    )


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage'")
async def test_unknown_parameters_are_ignored_but_recorded_and_missing_ones_rejected(
    bot: Bot, standin: BotApiStandIn
) -> None:
    # Telegram ignores a parameter a method does not have; the stand-in names it, so a typo shows.
    sent = await bot.send_message(USER, "hi", api_kwargs={"colour": "red"})
    assert sent.text == "hi" and standin.requests[-1].status == 200
    assert standin.requests[-1].ignored == ("colour",) and "colour" not in standin.requests[-1].params
    assert standin.ignored_parameters == [("sendMessage", "colour")]
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.do_api_request("sendMessage", {"chat_id": USER})
    with pytest.raises(BadRequest, match="Chat_id is empty"):
        await bot.do_api_request("sendMessage", {"text": "hi"})
    with pytest.raises(BadRequest):
        await bot.do_api_request("sendMessage", {"chat_id": USER, "text": "hi", "protect_content": 3})
    assert description(standin) == 'Bad Request: field "protect_content" must be of type Boolean'


async def test_raw_http_forms_json_query_strings_and_errors(
    http: httpx.AsyncClient, standin: BotApiStandIn
) -> None:
    # Method names are case-insensitive; a plain string may come unquoted.
    response = await http.post("SENDMESSAGE", data={"chat_id": str(USER), "text": "123"})
    assert response.status_code == 200 and response.json()["result"]["text"] == "123"
    response = await http.post("sendMessage", json={"chat_id": USER, "text": "json"})
    assert response.json()["result"]["text"] == "json"
    response = await http.get("getChat", params={"chat_id": USER})
    assert response.json()["result"]["first_name"] == "李娜"
    response = await http.post("sendMessage", data={"chat_id": "424242", "text": "x"})
    assert response.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    response = await http.post("noSuchMethod")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    response = await http.post("sendPoll", data={"chat_id": USER, "question": "?", "options": "[]"})
    assert response.json()["description"] == "Bad Request: method not supported by the stand-in"
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{standin.base_url}42:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_a_wrong_token_is_an_invalid_token_for_ptb(standin: BotApiStandIn) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("42:wrong", base_url=standin.base_url):
            pass


# ------------------------------------------------------------------ users


async def test_a_blocked_user_is_forbidden(bot: Bot, standin: BotApiStandIn) -> None:
    update = standin.block(USER)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    standin.text_update(USER, "回来了")  # writing again means the user unblocked the bot
    await bot.send_message(USER, "hi")


async def test_a_held_request_waits_and_a_user_can_block_the_bot_meanwhile(
    bot: Bot, standin: BotApiStandIn
) -> None:
    held = standin.hold("sendMessage", chat_id=USER)
    sending = asyncio.ensure_future(bot.send_message(USER, "生日快乐"))
    await asyncio.wait_for(held.caught.wait(), 5)
    assert held.params is not None and held.params["text"] == "生日快乐"
    assert standin.messages(USER) == [] and not sending.done(), "not carried out while held"
    standin.block(USER)
    held.release()
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await sending
    standin.unblock(USER)
    await bot.send_message(USER, "hi")  # a hold catches one request only


async def test_a_held_request_whose_client_went_away_is_never_carried_out(standin: BotApiStandIn) -> None:
    held = standin.hold("sendMessage")
    async with httpx.AsyncClient(base_url=f"{standin.base_url}{standin.token}/") as client:
        sending = asyncio.ensure_future(client.post("sendMessage", json={"chat_id": USER, "text": "lost"}))
        await asyncio.wait_for(held.caught.wait(), 5)
        sending.cancel()  # the connection closes, as when the bot's process is killed
        with pytest.raises(asyncio.CancelledError):
            await sending
    await asyncio.sleep(0.05)
    held.release()
    await asyncio.sleep(0.05)
    assert standin.messages(USER) == []


async def test_a_user_who_never_started_the_bot_is_forbidden(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(OTHER, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(5555, "hi")


async def test_groups_and_forum_topics(bot: Bot, standin: BotApiStandIn) -> None:
    standin.add_group(-1001234, "销售一组", is_forum=True)
    sent = await bot.send_message(-1001234, "hi", message_thread_id=7)
    assert sent.chat.type == "supergroup" and sent.message_thread_id == 7
    update = Update.de_json(standin.text_update(USER, "/new@standin_bot", chat_id=-1001234), bot)
    assert update.effective_chat is not None and update.effective_chat.id == -1001234


# ------------------------------------------------------------------ rate limits


async def test_the_per_chat_rate_limit_answers_retry_after(
    bot: Bot, standin: BotApiStandIn, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta
    standin.limits = Limits(per_chat_per_second=0.5, per_chat_burst=2)
    await bot.send_message(USER, "1")
    await bot.send_message(USER, "2")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "3")
    assert caught.value.retry_after == timedelta(seconds=2)
    assert standin.requests[-1].status == 429
    assert description(standin) == "Too Many Requests: retry after 2"
    clock.advance(1.0)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "3")
    assert caught.value.retry_after == timedelta(seconds=1)
    clock.advance(1.0)
    await bot.send_message(USER, "3")
    assert [m.text for m in standin.messages(USER)] == ["1", "2", "3"]


async def test_the_global_rate_limit_spans_chats(
    http: httpx.AsyncClient, standin: BotApiStandIn, clock: ManualClock
) -> None:
    standin.limits = Limits(global_per_second=1.0, global_burst=1)
    standin.text_update(OTHER, "hello")
    assert (await http.post("sendMessage", data={"chat_id": USER, "text": "a"})).status_code == 200
    response = await http.post("sendMessage", data={"chat_id": OTHER, "text": "b"})
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    clock.advance(1.0)
    assert (await http.post("sendMessage", data={"chat_id": OTHER, "text": "b"})).status_code == 200


async def test_limit_presets() -> None:
    assert not Limits.unlimited().enabled
    assert Limits.telegram().per_chat_burst == 1 and Limits.telegram().global_per_second == 30


# ------------------------------------------------------------------ updates and polling


async def test_polling_application_runs_a_command_handler(standin: BotApiStandIn) -> None:
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append(list(context.args or []))
        await update.effective_message.reply_text("欢迎")

    app = (
        Application.builder()
        .token(standin.token)
        .base_url(standin.base_url)
        .base_file_url(standin.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    standin.enqueue(standin.start_update(OTHER, "team_42"))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await until(lambda: bool(seen))
        await app.updater.stop()
        await app.stop()
    assert seen == [["team_42"]]
    assert [m.text for m in standin.messages(OTHER)] == ["欢迎"]
    assert standin.pending_updates == []


async def test_long_polling_wakes_on_enqueue_and_honours_offset(
    http: httpx.AsyncClient, standin: BotApiStandIn
) -> None:
    async def poll(**params: Any) -> list[dict[str, Any]]:
        response = await http.post("getUpdates", data={k: json.dumps(v) for k, v in params.items()})
        result: list[dict[str, Any]] = response.json()["result"]
        return result

    waiting = asyncio.create_task(poll(timeout=5))
    await until(lambda: standin.polls_waiting == 1)
    started = time.monotonic()
    first = standin.enqueue(standin.text_update(USER, "one"))
    updates = await waiting
    assert time.monotonic() - started < 2
    assert [u["update_id"] for u in updates] == [first["update_id"]]
    second = standin.enqueue(standin.text_update(USER, "two"))
    assert len(await poll()) == 2  # not confirmed yet
    assert [u["message"]["text"] for u in await poll(offset=first["update_id"] + 1)] == ["two"]
    assert await poll(offset=second["update_id"] + 1) == []
    standin.enqueue(standin.text_update(USER, "three"))
    assert await poll(allowed_updates=["callback_query"]) == []


async def test_stop_wakes_a_long_poll(standin: BotApiStandIn) -> None:
    async with httpx.AsyncClient() as client:
        url = f"{standin.base_url}{standin.token}/getUpdates"
        waiting = asyncio.create_task(client.post(url, data={"timeout": "30"}))
        await until(lambda: standin.polls_waiting == 1)
        started = time.monotonic()
        await standin.stop()
        response = await waiting
    assert response.json() == {"ok": True, "result": []}
    assert time.monotonic() - started < 2


async def test_text_updates_carry_bot_command_entities(standin: BotApiStandIn, bot: Bot) -> None:
    update = Update.de_json(standin.text_update(USER, "/find 张伟"), bot)
    assert update.message is not None and update.message.text == "/find 张伟"
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 5)
    with pytest.raises(ValueError):
        standin.start_update(USER, "has space")


# ------------------------------------------------------------------ files


async def test_a_bot_document_round_trips_through_get_file(bot: Bot, standin: BotApiStandIn) -> None:
    sent = await bot.send_document(USER, b"id,name\n1,Li\n", filename="export.csv", caption="导出")
    assert sent.document is not None and sent.document.file_name == "export.csv"
    assert sent.caption == "导出"
    record = standin.last_message(USER)
    assert record is not None and record.kind == "document"
    assert record.file_bytes == b"id,name\n1,Li\n" and record.text == "导出"
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"id,name\n1,Li\n"
    again = await bot.send_document(USER, sent.document.file_id)  # resend by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id


async def test_a_user_document_is_downloadable(bot: Bot, standin: BotApiStandIn) -> None:
    update = Update.de_json(
        standin.document_update(USER, "名片.vcf", b"BEGIN:VCARD\nEND:VCARD\n", "text/vcard"), bot
    )
    assert update.message is not None and update.message.document is not None
    assert update.message.document.mime_type == "text/vcard"
    file = await update.message.document.get_file()
    assert file.file_path is not None and file.file_path.startswith(standin.base_file_url)
    assert bytes(await file.download_as_bytearray()) == b"BEGIN:VCARD\nEND:VCARD\n"
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nonsense")


async def test_photos_and_voice_notes(
    bot: Bot, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    sent = await bot.send_photo(USER, TINY_PNG)
    assert sent.photo[-1].width == 1 and sent.photo[-1].height == 1
    with pytest.raises(BadRequest):
        await bot.send_photo(USER, b"%PDF-1.7 not an image")
    assert description(standin) == "Bad Request: IMAGE_PROCESS_FAILED"
    photo = standin.photo_update(USER, struct.pack(">8sI4sII", b"\x89PNG\r\n\x1a\n", 13, b"IHDR", 640, 480))
    assert photo["message"]["photo"][0]["width"] == 640
    voice = Update.de_json(standin.voice_update(USER, b"OggS...", 3), bot)
    assert voice.message is not None and voice.message.voice is not None
    assert voice.message.voice.duration == timedelta(seconds=3)


async def test_contact_updates(standin: BotApiStandIn, bot: Bot) -> None:
    update = Update.de_json(standin.contact_update(USER, "+8613800138000", "李娜", contact_user_id=USER), bot)
    assert update.message is not None and update.message.contact is not None
    assert update.message.contact.user_id == USER


# ------------------------------------------------------------------ buttons, edits, events


async def test_callback_updates_only_press_real_buttons(bot: Bot, standin: BotApiStandIn) -> None:
    edit = InlineKeyboardButton("编辑", callback_data="edit:1")
    keyboard = InlineKeyboardMarkup([[edit, InlineKeyboardButton("删除", callback_data="del:1")]])
    sent = await bot.send_message(USER, "卡片", reply_markup=keyboard)
    with pytest.raises(ValueError):
        standin.callback_update(USER, sent.message_id, "edit:2")
    forged = standin.callback_update(USER, sent.message_id, "edit:2", forged=True)
    assert forged["callback_query"]["data"] == "edit:2"
    pressed = Update.de_json(standin.callback_update(USER, sent.message_id, "edit:1"), bot)
    assert pressed.callback_query is not None
    assert isinstance(pressed.callback_query.message, Message)
    assert pressed.callback_query.message.reply_markup == keyboard
    assert standin.press(USER, "删除")["callback_query"]["data"] == "del:1"
    assert standin.press(USER, 1)["callback_query"]["data"] == "edit:1"  # numbered from 1
    assert standin.press(USER, "编")["callback_query"]["data"] == "edit:1"  # part of a label


async def test_a_callback_query_is_answered_once(bot: Bot, standin: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    await bot.send_message(USER, "确认?", reply_markup=keyboard)
    query_id = standin.press(USER, "好")["callback_query"]["id"]
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert description(standin) == "Bad Request: MESSAGE_TOO_LONG"
    assert await bot.answer_callback_query(query_id, text="已确认")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id, text="again")
    assert standin.callback_answers[-1]["text"] == "已确认"
    assert standin.callback_answers[-1]["data"] == "ok"


async def test_edits_and_deletes_update_the_record(bot: Bot, standin: BotApiStandIn) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("下一步", callback_data="next")]])
    sent = await bot.send_message(USER, "第一步", reply_markup=keyboard)
    second = "<i>第二步</i>"
    edited = await bot.edit_message_text(
        second, USER, sent.message_id, parse_mode="HTML", reply_markup=keyboard
    )
    assert not isinstance(edited, bool) and edited.text == "第二步"
    record = standin.messages(USER)[-1]
    assert record.text == "<i>第二步</i>" and record.plain_text == "第二步" and record.edited
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(second, USER, sent.message_id, parse_mode="HTML", reply_markup=keyboard)
    await bot.edit_message_reply_markup(USER, sent.message_id)  # removes the keyboard
    assert record.reply_markup is None
    with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
        await bot.edit_message_caption(USER, sent.message_id, caption="x")
    assert await bot.delete_message(USER, sent.message_id)
    assert record.deleted and standin.last_message(USER) is None
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_subscribers_see_what_the_bot_does(bot: Bot, standin: BotApiStandIn) -> None:
    events: list[BotEvent] = []
    unsubscribe = standin.subscribe(events.append)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    await bot.send_chat_action(USER, "typing")
    sent = await bot.send_message(USER, "hi", reply_markup=keyboard)
    await bot.edit_message_text("hello", USER, sent.message_id)
    query = standin.callback_update(USER, sent.message_id, "ok", forged=True)["callback_query"]
    await bot.answer_callback_query(query["id"])
    await bot.delete_message(USER, sent.message_id)
    unsubscribe()
    await bot.send_message(USER, "unheard")
    assert [e.kind for e in events] == ["chat_action", "send", "edit", "answer", "delete"]
    assert events[0].action == "typing" and events[1].message is not None
    assert events[3].answer is not None and events[3].answer["data"] == "ok"
    assert all(e.chat_id == USER for e in events)


async def test_async_subscribers_are_awaited(bot: Bot, standin: BotApiStandIn) -> None:
    seen: list[str] = []

    async def listener(event: BotEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.kind)

    standin.subscribe(listener)
    await bot.send_message(USER, "hi")
    assert seen == ["send"]


async def test_copy_and_forward(bot: Bot, standin: BotApiStandIn) -> None:
    standin.text_update(OTHER, "hi")
    sent = await bot.send_message(USER, "<b>名片</b>", parse_mode=ParseMode.HTML)
    copied = await bot.copy_message(OTHER, USER, sent.message_id)
    forwarded = await bot.forward_message(OTHER, USER, sent.message_id)
    assert forwarded.text == "名片" and forwarded.forward_origin is not None
    assert [m.message_id for m in standin.messages(OTHER)] == [copied.message_id, forwarded.message_id]
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(OTHER, USER, 999)


async def test_everything_the_standin_builds_is_valid_per_the_spec(
    bot: Bot, standin: BotApiStandIn, http: httpx.AsyncClient
) -> None:
    spec = load_spec()
    validator = Validator(spec)

    def check(value: dict[str, Any], type_name: str) -> None:
        assert validator.object_error(value, spec.types[type_name], type_name) is None, value

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    html = '<b>a</b> <a href="tg://user?id=1001">李娜</a> <a href="example.com">x</a>'
    sent = await bot.send_message(USER, html, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    await bot.send_photo(USER, TINY_PNG, caption="<i>c</i>", parse_mode=ParseMode.HTML)
    await bot.send_voice(USER, b"OggS", duration=2)
    await bot.forward_message(USER, USER, sent.message_id)
    await bot.send_message(USER, "re", reply_parameters=ReplyParameters(sent.message_id))
    updates = [
        standin.text_update(USER, "/start x"),
        standin.press(USER, "好"),
        standin.callback_update(USER, 999, "gone", forged=True),
        standin.contact_update(USER, "+8613800138000", "李娜", "李", USER),
        standin.document_update(USER, "a.pdf", b"%PDF", "application/pdf", caption="合同"),
        standin.photo_update(USER, TINY_PNG, caption="照片"),
        standin.voice_update(USER, b"OggS", 3),
        standin.block(USER),
        standin.unblock(USER),
    ]
    for update in updates:
        check(update, "Update")
    for message in standin.history(USER):
        check(message.to_api(), "Message")
    check((await http.post("getMe")).json()["result"], "User")
    check((await http.post("getChat", data={"chat_id": USER})).json()["result"], "ChatFullInfo")
    check((await http.post("getWebhookInfo")).json()["result"], "WebhookInfo")


# ------------------------------------------------------------------ commands and chats


async def test_commands_are_stored_per_scope_and_language(bot: Bot, standin: BotApiStandIn) -> None:
    await bot.set_my_commands([BotCommand("new", "新客户"), BotCommand("find", "查找")])
    await bot.set_my_commands([BotCommand("new", "New customer")], language_code="en")
    await bot.set_my_commands([BotCommand("team", "团队")], scope=BotCommandScopeChat(USER))
    assert [c["command"] for c in standin.commands()] == ["new", "find"]
    assert standin.commands(language_code="en") == [{"command": "new", "description": "New customer"}]
    assert [c["command"] for c in standin.commands_for(USER)] == ["team"]
    assert standin.commands_for(OTHER) == [{"command": "new", "description": "New customer"}]
    assert [c.command for c in await bot.get_my_commands()] == ["new", "find"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("New", "bad")])
    assert description(standin) == "Bad Request: BOT_COMMAND_INVALID"
    await bot.delete_my_commands()
    assert standin.commands() == []


async def test_get_chat_and_menu_button(bot: Bot, standin: BotApiStandIn) -> None:
    chat = await bot.get_chat(USER)
    assert chat.first_name == "李娜" and chat.username == "lina"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(OTHER)  # never talked to the bot
    assert await bot.set_chat_menu_button()
    assert (await bot.get_chat_menu_button()).type == "default"
    assert await bot.delete_webhook() and (await bot.get_webhook_info()).url == ""


# ------------------------------------------------------------------ formatted text


@pytest.mark.parametrize(
    ("markup", "text", "entities"),
    [
        ("🏟 <i>🏟 &gt;<b x=y>&lt🏟</b></i>", "🏟 🏟 ><🏟", [("italic", 3, 7), ("bold", 7, 3)]),
        ('<pre><code class="language-py">x</code></pre>', "x", [("pre", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<a href="example.com">link</a>', "link", [("text_link", 0, 4)]),
        ("<b></b>&#x1F3DF;", "🏟", []),
    ],
)
def test_html_is_parsed_like_tdlib(markup: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(markup)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("🏟 🏟&lt;<abac>", 'Unsupported start tag "abac" at byte offset 13'),
        ("<i>a</em>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</em>"'),
        ("a</b>", "Unexpected end tag at byte offset 1"),
        ("<b>a", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Q&A", 'Unsupported HTML entity at byte offset 1: write "&" as "&amp;"'),
    ],
)
def test_bad_html_errors_match_telegram(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert str(caught.value) == error


def test_markdown_v2_reserved_characters_and_entities() -> None:
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Done.")
    parsed = parse_markdown_v2("*粗* _斜_ \\. ||藏||")
    assert parsed.text == "粗 斜 . 藏"
    assert [e["type"] for e in parsed.entities] == ["bold", "italic", "spoiler"]
    assert utf16_len("🏟a") == 3
