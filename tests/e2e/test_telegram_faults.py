"""Telegram failing: 5xx answers and answers that never come, on replies, buttons and getUpdates.

The stand-in's faults (``botapi_standin.faults``) make the next calls of a method fail.
What Telegram refused is sent again, a bounded number of times; what it may have done
is never sent again; polling goes on; and what the user typed is kept either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.console.driver import Driver, running_bot
from bot.storage.models import Customer, Note
from tests.conftest import FakeClock
from tests.e2e.world import REP, add_customer, build_world, texts

RETRIES = (0.05, 0.1, 0.2)  # three more tries after the first, as in production (shorter pauses)
TRIES = 1 + len(RETRIES)
READ_TIMEOUT = 1.0  # how long the bot waits for an answer
LATE = 2.5  # an answer this late comes after the bot stopped waiting (even for a 1 s long poll)
NOTE = "拜访了，想加订小包装。"


@pytest.fixture
async def bot(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Driver]:
    """The real bot with short pauses between tries and a short read timeout."""
    async with running_bot(
        engine=engine,
        clock=clock,
        retry_delays=(0.05, 0.1),
        telegram_retry_delays=RETRIES,
        telegram_read_timeout=READ_TIMEOUT,
    ) as driver:
        yield driver


async def _notes(bot: Driver, text: str) -> list[Note]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(Note).where(col(Note.text) == text))).all())

    return await bot.services.db(load)


async def _customers(bot: Driver, name: str) -> list[Customer]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(Customer).where(col(Customer.name) == name))).all())

    return await bot.services.db(load)


def _seen(bot: Driver, chat_id: int, words: str) -> int:
    """How many messages the bot sent to the chat that contain `words` (what the user sees)."""
    return sum(words in (m.text or "") for m in bot.standin.messages(chat_id))


def _tries(bot: Driver, method: str) -> list[int]:
    """The HTTP status of each faulted request for `method`."""
    return [r.status for r in bot.standin.requests if r.method == method and r.fault is not None]


async def _writing_a_note(bot: Driver) -> int:
    """Everyone onboarded; the rep opened a customer's card and pressed 记录."""
    await build_world(bot)
    cid = await add_customer(bot, REP, "陈静")
    await bot.send(REP, "陈静")
    assert "记一条" in texts(await bot.press(REP, "记录"))
    return cid


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (at most about 8 s) until the condition holds."""
    for _ in range(160):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_a_reply_refused_twice_arrives_once_and_the_note_is_saved_once(bot: Driver) -> None:
    await _writing_a_note(bot)
    bot.standin.faults.add("sendMessage", "5xx", times=2, status=502)
    replies = await bot.send(REP, NOTE)
    assert "已记录到" in texts(replies)
    assert _tries(bot, "sendMessage") == [502, 502]
    assert _seen(bot, REP, "已记录到") == 1
    assert len(await _notes(bot, NOTE)) == 1


async def test_a_reply_refused_past_the_bound_is_given_up_and_nothing_typed_is_lost(
    bot: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # whatever logging an earlier test set up
    await _writing_a_note(bot)
    bot.standin.faults.add("sendMessage", "5xx", times=TRIES + 5, status=503)
    replies = await bot.send(REP, NOTE)
    assert replies == []  # Telegram is down: the user sees nothing, and nothing crashed
    assert _tries(bot, "sendMessage") == [503] * TRIES  # bounded
    assert bot.standin.faults.pending[0].times == 5
    assert "telegram unavailable" in caplog.text
    assert len(await _notes(bot, NOTE)) == 1
    bot.standin.faults.clear()
    # Telegram is back: the next message is answered, and the note is on the card.
    await bot.send(REP, "陈静")
    timeline = texts(await bot.press(REP, "时间线"))
    assert "想加订小包装" in timeline
    assert len(await _notes(bot, NOTE)) == 1


async def test_a_form_answer_is_kept_when_the_next_question_cannot_be_sent(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    bot.standin.faults.add("sendMessage", "5xx", times=TRIES, status=502)
    assert await bot.send(REP, "张伟") == []  # the phone question never arrives
    replies = await bot.send(REP, "/start")
    assert "从中断的地方继续" in texts(replies) and "张伟" in texts(replies) and "电话号码" in texts(replies)
    await bot.send(REP, "13800138001")
    await bot.press(REP, "跳过")
    replies = await bot.press(REP, "跳过")
    assert "客户已添加" in texts(replies)
    (customer,) = await _customers(bot, "张伟")
    assert customer.phone_digits == "8613800138001"


async def test_a_reply_telegram_sent_but_answered_too_late_is_not_sent_again(bot: Driver) -> None:
    await _writing_a_note(bot)
    bot.standin.faults.add("sendMessage", "slow_after", delay=LATE)
    before = len(bot.standin.requests)
    replies = await bot.send(REP, NOTE)
    assert "已记录到" in texts(replies)  # Telegram delivered it; the bot did not hear back
    assert _seen(bot, REP, "已记录到") == 1
    assert [r.method for r in bot.standin.requests[before:]] == ["sendMessage"]  # not sent again
    assert len(await _notes(bot, NOTE)) == 1
    # The conversation goes on.
    assert "已保存为🤝 拜访" in texts(await bot.press(REP, "拜访"))


async def test_a_reply_whose_connection_dropped_is_not_sent_again(bot: Driver) -> None:
    await _writing_a_note(bot)
    bot.standin.faults.add("sendMessage", "drop")
    before = len(bot.standin.requests)
    assert await bot.send(REP, NOTE) == []  # Telegram may have sent it: the bot cannot know
    assert [(r.method, r.fault) for r in bot.standin.requests[before:]] == [("sendMessage", "drop")]
    assert len(await _notes(bot, NOTE)) == 1


async def test_polling_goes_on_through_5xx_and_a_timeout_and_handles_each_update_once(
    bot: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)  # whatever logging an earlier test set up
    await _writing_a_note(bot)
    sent = bot.standin.enqueue(bot.standin.text_update(REP, NOTE))
    bot.standin.faults.add("getUpdates", "5xx", times=2, status=502)
    # Telegram hands out the note, but its answer comes after the bot stopped waiting.
    bot.standin.faults.add("getUpdates", "slow_after", delay=LATE)
    async with bot.polling(timeout=1):
        await _until(lambda: not bot.standin.faults.pending and _seen(bot, REP, "已记录到") > 0)
        await _until(lambda: not bot.standin.pending_updates)  # confirmed by the next getUpdates
        assert _tries(bot, "getUpdates") == [502, 502, 200]
        assert _seen(bot, REP, "已记录到") == 1
        # Polling still goes on: a later message is answered too.
        bot.standin.enqueue(bot.standin.text_update(REP, "陈静"))
        await _until(lambda: "📇 <b>陈静</b>" in (bot.last(REP).text or ""))
        assert "📇 <b>陈静</b>" in (bot.last(REP).text or "")
    assert sent["update_id"] not in [u["update_id"] for u in bot.standin.pending_updates]
    assert _seen(bot, REP, "已记录到") == 1
    assert len(await _notes(bot, NOTE)) == 1
    assert caplog.text.count("telegram unavailable while polling") == 2


async def test_a_button_still_works_when_answering_and_editing_are_refused_twice(bot: Driver) -> None:
    await _writing_a_note(bot)
    await bot.send(REP, NOTE)
    bot.standin.faults.add("answerCallbackQuery", "5xx", times=2, status=502)
    bot.standin.faults.add("editMessageText", "5xx", times=2, status=500)
    replies = await bot.press(REP, "拜访")
    assert "已保存为🤝 拜访" in texts(replies)
    assert [a.get("text") for a in bot.standin.callback_answers[-1:]] == ["已标记为🤝 拜访"]
    assert _tries(bot, "answerCallbackQuery") == [502, 502]
    assert _tries(bot, "editMessageText") == [500, 500]


async def test_a_form_button_goes_on_when_its_keyboard_cannot_be_removed(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(REP, "/new")
    await bot.send(REP, "张伟")
    bot.standin.faults.add("editMessageReplyMarkup", "5xx", times=TRIES, status=502)
    replies = await bot.press(REP, "跳过")  # no phone
    assert "公司" in texts(replies)  # the next question: the skip was taken
    assert _tries(bot, "editMessageReplyMarkup") == [502] * TRIES
