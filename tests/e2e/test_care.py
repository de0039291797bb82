"""Care messages through the real bot and the stand-in, on a settable clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from telegram import Bot

from bot.app import CONSOLE_TOKEN
from bot.console.driver import Driver
from bot.scheduling import outbox
from bot.scheduling.dispatcher import Dispatcher
from bot.scheduling.jobs import plan_now
from bot.scheduling.planner import PlanResult
from bot.services import care as care_service
from bot.storage.models import Customer, Note, OutboxMessage, Purchase, Team
from tests.e2e.world import CUSTOMER, REP, add_customer, build_world, payload, texts


async def _rows(bot: Driver, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def _set(bot: Driver, cid: int, **values: object) -> None:
    async def change(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        for key, value in values.items():
            setattr(customer, key, value)
        session.add(customer)

    await bot.services.db(change)


async def _opt_in(bot: Driver, cid: int, name: str) -> None:
    await bot.send(REP, name)
    replies = await bot.press(REP, "专属链接")
    await bot.send(CUSTOMER, f"/start {payload(replies)}")
    customer = (await _rows(bot, Customer, col(Customer.id) == cid))[0]
    assert customer.optin_state == "in"


async def _plan(bot: Driver) -> PlanResult:
    """Plan, leaving the morning agendas and digests aside (test_agenda.py and test_digest.py have them)."""
    result = await plan_now(bot.services)

    async def no_agendas(session):  # type: ignore[no-untyped-def]
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.occasion).in_(("agenda", "digest")), col(OutboxMessage.status) == "planned"
            )
            .values(status="skipped", reason="not in this test")
        )

    await bot.services.db(no_agendas)
    return result


def _dispatcher(bot: Driver, **options: object) -> Dispatcher:
    return Dispatcher(bot.services, bot.app.bot, per_chat=0.0, **options)  # type: ignore[arg-type]


async def test_a_birthday_greeting_arrives_once_at_the_send_hour(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    today = bot.services.today()
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day)
    clock.current = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai: quiet hours
    result = await _plan(bot)
    assert result.planned == 1
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert row.due_at == datetime(2026, 11, 23, 2, tzinfo=UTC)  # 10:00 local, the team's send hour
    assert await _dispatcher(bot).drain() == 0, "not before the send hour"
    clock.current = datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC)
    before = len(bot.standin.messages(CUSTOMER))
    assert await _dispatcher(bot).drain() == 1
    greeting = bot.standin.messages(CUSTOMER)[before:]
    assert (
        len(greeting) == 1 and "生日快乐" in (greeting[0].text or "") and "王芳" in (greeting[0].text or "")
    )
    # Planning and dispatching again change nothing.
    assert (await _plan(bot)).planned == 0
    assert await _dispatcher(bot).drain() == 0
    assert len(bot.standin.messages(CUSTOMER)) == before + 1
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert row.status == "sent" and row.message_id == greeting[0].message_id
    notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "care")
    assert len(notes) == 1 and "生日快乐" in notes[0].text


async def test_a_customer_not_on_telegram_is_greeted_through_their_rep(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "刘洋")

    async def sold(session):  # type: ignore[no-untyped-def]
        session.add(
            Purchase(
                customer_id=cid,
                team_id=world.team,
                purchased_on=clock().date().replace(day=20),
                amount=12000,
                items="防水涂料 50 桶",
            )
        )

    await bot.services.db(sold)
    await _plan(bot)
    assert await _dispatcher(bot).drain() == 1
    handed = bot.standin.messages(REP)[-1]
    assert "刘洋不在 Telegram 上" in (handed.text or "") and "防水涂料 50 桶" in (handed.text or "")
    labels = [b["text"] for row in (handed.reply_markup or {})["inline_keyboard"] for b in row]
    assert labels == ["📋 复制消息", "✅ 已发送", "⏭ 不发了"]
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert row.status == "handed" and row.occasion == "followup_3"
    replies = await bot.press(REP, "已发送")
    assert "已记为发送" in texts(replies)
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert row.status == "sent"
    assert await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "care")


async def test_blocked_customers_are_opted_out_and_their_rep_is_told(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    today = bot.services.today()
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day)
    await _plan(bot)
    bot.standin.block(CUSTOMER)
    assert await _dispatcher(bot).drain() == 1
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert (row.status, row.reason) == ("failed", "blocked")
    customer = (await _rows(bot, Customer, col(Customer.id) == cid))[0]
    assert customer.optin_state == "out"
    assert "屏蔽了机器人" in (bot.standin.messages(REP)[-1].text or "")
    assert (await _plan(bot)).planned == 0, "nothing more is planned for them"


async def test_stop_skips_what_was_waiting_and_review_mode_holds_messages(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    today = bot.services.today()
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day)

    async def review(session):  # type: ignore[no-untyped-def]
        team = await session.get(Team, world.team)
        team.settings = {**team.settings, "care": {"review": True}}
        session.add(team)

    await bot.services.db(review)
    await _plan(bot)
    before = len(bot.standin.messages(CUSTOMER))
    assert await _dispatcher(bot).drain() == 1, "the rep is asked"
    assert len(bot.standin.messages(CUSTOMER)) == before, "review mode: nothing goes without approval"
    asked = bot.standin.messages(REP)[-1]
    assert "待审核" in (asked.text or "") and "生日快乐" in (asked.text or "")
    assert [r.status for r in await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)] == [
        "review"
    ]
    assert await _dispatcher(bot).drain() == 0, "asked once"
    await bot.press(REP, "改写")
    replies = await bot.send(REP, "张总，生日快乐！今晚给您送蛋糕。")
    assert "已批准" in texts(replies)
    assert await _dispatcher(bot).drain() == 1
    assert bot.standin.messages(CUSTOMER)[-1].text == "张总，生日快乐！今晚给您送蛋糕。"
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day + 1)
    await _plan(bot)
    await _dispatcher(bot).drain()
    await bot.send(CUSTOMER, "/stop")
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)
    assert sorted((r.occasion, r.day.day, r.status, r.reason) for r in rows) == [
        ("birthday", today.day, "sent", None),
        ("birthday", today.day + 1, "skipped", "opted_out"),
    ]


async def test_the_weekly_cap_keeps_the_most_important_messages(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    today = bot.services.today()
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day + 1)

    async def sold(session):  # type: ignore[no-untyped-def]
        for day, items in ((20, "A"), (21, "B"), (22, "C")):
            session.add(
                Purchase(
                    customer_id=cid,
                    team_id=world.team,
                    purchased_on=today.replace(day=day),
                    amount=100,
                    items=items,
                )
            )

    await bot.services.db(sold)
    await _plan(bot)
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)
    kept = sorted(r.occasion for r in rows if r.status == "planned")
    assert kept == ["birthday", "followup_3"], "two a week: the birthday first, then the earliest follow-up"
    assert sorted(r.reason for r in rows if r.status == "skipped") == ["weekly_cap", "weekly_cap"]


async def test_two_dispatchers_share_the_outbox_without_double_sends(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    now = bot.services.now()
    chats = [1000 + i for i in range(50)]
    for chat in chats:
        bot.user(chat, f"客户{chat}")
        await bot.send(chat, "/start")

    async def fill(session):  # type: ignore[no-untyped-def]
        for i in range(1000):
            session.add(
                OutboxMessage(
                    key=f"load:{i}",
                    team_id=world.team,
                    customer_id=cid,
                    rep_id=REP,
                    occasion="birthday",
                    day=now.date(),
                    channel="telegram",
                    chat_id=chats[i % len(chats)],
                    text=f"消息 {i}",
                    status="planned",
                    due_at=now,
                )
            )

    await bot.services.db(fill)
    # On a freshly filled table a claim still takes only its batch (PostgreSQL could
    # otherwise re-run the LIMIT … SKIP LOCKED subquery per row and claim them all).
    taken = await bot.services.db(lambda s: outbox.claim(s, now=now, worker="probe", limit=30))
    assert len(taken) == 30

    async def release(session):  # type: ignore[no-untyped-def]
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.claimed_by) == "probe")
            .values(status="planned", claimed_by=None, lease_until=None)
        )

    await bot.services.db(release)
    # Two dispatchers, each with its own client (the stand-in here has no flood limits),
    # so the claiming is what is tested, not the 30/s pacing.
    clients = [Bot(CONSOLE_TOKEN, base_url=bot.standin.base_url) for _ in range(2)]
    for client in clients:
        await client.initialize()
    first, second = (
        Dispatcher(bot.services, client, per_chat=0.0, rate=10_000, batch=25) for client in clients
    )
    sent = await asyncio.gather(first.drain(), second.drain())
    for client in clients:
        await client.shutdown()
    assert sum(sent) == 1000 and all(sent), sent
    texts_sent = [
        m.text for chat in chats for m in bot.standin.messages(chat) if (m.text or "").startswith("消息")
    ]
    assert len(texts_sent) == 1000 and len(set(texts_sent)) == 1000, "each once, none missed"
    statuses = {r.status for r in await _rows(bot, OutboxMessage, col(OutboxMessage.key).like("load:%"))}
    assert statuses == {"sent"}


async def test_a_crash_mid_send_fails_that_one_message_instead_of_sending_it_twice(
    bot: Driver, clock
) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    now = bot.services.now()

    async def fill(session):  # type: ignore[no-untyped-def]
        for i, status in enumerate(("claimed", "sending")):
            session.add(
                OutboxMessage(
                    key=f"crash:{i}",
                    team_id=world.team,
                    customer_id=cid,
                    rep_id=REP,
                    occasion="birthday",
                    day=now.date(),
                    channel="telegram",
                    chat_id=CUSTOMER,
                    text=f"消息 {i}",
                    status=status,
                    due_at=now,
                    claimed_by="dead",
                    lease_until=now,
                )
            )

    await bot.services.db(fill)
    clock.advance(seconds=61)
    await bot.services.db(lambda s: outbox.recover(s, now=bot.services.now()))
    rows = {r.key: (r.status, r.reason) for r in await _rows(bot, OutboxMessage)}
    assert rows == {"crash:0": ("planned", None), "crash:1": ("failed", "interrupted")}


async def test_a_corrected_birthday_cancels_the_greeting_planned_for_the_old_day(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    today = bot.services.today()
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day + 2)
    await _plan(bot)
    await _set(bot, cid, birthday_month=today.month, birthday_day=today.day + 3)
    await _plan(bot)
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid)
    assert sorted((r.day.day - today.day, r.status, r.reason) for r in rows) == [
        (2, "skipped", "no_longer_due"),
        (3, "planned", None),
    ]


async def test_a_lead_sets_the_care_rules_with_taps_and_a_rep_cannot(bot: Driver) -> None:
    from bot.domain.care import CareRules
    from tests.e2e.world import LEAD, OTHER_LEAD

    world = await build_world(bot)
    replies = await bot.send(LEAD, "/care")
    assert "客户关怀规则" in texts(replies) and "自动发送" in texts(replies)
    await bot.press(LEAD, "发送方式")
    await bot.press(LEAD, 4)  # + on the send time
    await bot.press(LEAD, "中秋节")
    for _ in range(3):
        await bot.press(LEAD, 14)  # − on the weekly cap (stops at 0)
    team = (await _rows(bot, Team, col(Team.id) == world.team))[0]
    rules = CareRules.from_settings(team.settings)
    assert (rules.review, rules.send_hour, rules.weekly_cap) == (True, 11, 0)
    assert "mid_autumn" not in rules.occasions and "birthday" in rules.occasions
    assert "先审核" in (bot.standin.messages(LEAD)[-1].text or "")
    assert "客户关怀规则" not in texts(await bot.send(REP, "/care")), "reps cannot change the rules"
    message = bot.standin.messages(LEAD)[-1]
    await bot.callback(OTHER_LEAD, message.message_id, f"cu:{world.team}:mode:x")
    assert "失效" in str(bot.standin.callback_answers[-1].get("text"))
    assert CareRules.from_settings((await _rows(bot, Team, col(Team.id) == world.team))[0].settings).review


async def test_a_rep_writes_a_one_off_message_for_a_chosen_day(bot: Driver, clock) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    await bot.send(REP, "张伟")
    replies = await bot.press(REP, "💌 消息")
    assert "哪天发" in texts(replies)
    replies = await bot.send(REP, "上个月")
    assert (
        "无法" in texts(replies)
        or "读不懂" in texts(replies)
        or "过去" in texts(replies)
        or "日期" in texts(replies)
    )
    await bot.send(REP, "明天")
    replies = await bot.send(REP, "张总，新样品到了，明天给您送过去看看？")
    assert "2026-11-24 10:00" in texts(replies)
    await _plan(bot)  # planning again leaves a rep's own message alone
    assert await _dispatcher(bot).drain() == 0
    clock.advance(days=1)
    await _dispatcher(bot).drain()
    assert bot.standin.messages(CUSTOMER)[-1].text == "张总，新样品到了，明天给您送过去看看？"
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "one_off"))[0]
    assert (row.status, row.customer_id) == ("sent", cid)


@pytest.mark.parametrize(
    ("rate", "per_chat", "messages", "chat_count"),
    [(30.0, 1.05, 90, 20), (300.0, 0.0, 12, 4)],
    ids=["paced", "pushing"],
)
async def test_against_telegrams_limits_nothing_is_lost(
    bot: Driver, clock, rate, per_chat, messages, chat_count
) -> None:  # type: ignore[no-untyped-def]
    """A stand-in with Telegram's limits read strictly: 1 a second per chat, 30 a second overall.

    Paced as in production, and pushing ten times harder than allowed (429s, retried).
    """
    from botapi_standin import Limits

    # The team is set up without limits; then Telegram's apply.
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    chats = [2000 + i for i in range(chat_count)]
    for chat in chats:
        bot.standin.add_user(chat, f"客户{chat}", started=True)
    now = bot.services.now()

    async def fill(session):  # type: ignore[no-untyped-def]
        for i in range(messages):  # three messages for each chat, one after another, plus
            session.add(  # a burst well over 30/s for the first second
                OutboxMessage(
                    key=f"strict:{i}",
                    team_id=world.team,
                    customer_id=cid,
                    rep_id=REP,
                    occasion="birthday",
                    day=now.date(),
                    channel="telegram",
                    chat_id=chats[i // 3 % len(chats)] if i < 3 * len(chats) else chats[i % len(chats)],
                    text=f"限速 {i}",
                    status="planned",
                    due_at=now,
                )
            )

    await bot.services.db(fill)
    bot.standin.limits = Limits(
        per_chat_per_second=1.0, per_chat_burst=1, global_per_second=30.0, global_burst=30
    )
    dispatcher = Dispatcher(bot.services, bot.app.bot, rate=rate, per_chat=per_chat)
    for _ in range(20):
        await dispatcher.drain()
        rows = await _rows(bot, OutboxMessage, col(OutboxMessage.key).like("strict:%"))
        if all(r.status == "sent" for r in rows):
            break
        clock.advance(seconds=5)  # rows put back after a 429 are due a little later
    received = [m.text for chat in chats for m in bot.standin.messages(chat)]
    assert sorted(received) == sorted(f"限速 {i}" for i in range(messages)), "each once, none lost"
    assert {r.status for r in rows} == {"sent"}


# ---------------------------------------------------------------- issue 16


async def _speaks_english(bot: Driver, uid: int) -> None:
    await bot.send(uid, "/language")
    assert "Language: English" in texts(await bot.press(uid, "English"))


async def _one_off(bot: Driver, name: str, day: str, text: str) -> list:  # type: ignore[type-arg]
    await bot.send(REP, name)
    await bot.press(REP, "💌")
    await bot.send(REP, day)
    return await bot.send(REP, text)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_two_one_off_messages_for_one_day_both_go_in_the_order_written(
    bot: Driver, clock, lang: str
) -> None:  # type: ignore[no-untyped-def]
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    if lang == "en":
        await _speaks_english(bot, REP)
    tomorrow = "明天" if lang == "zh" else "tomorrow"
    first = await _one_off(bot, "张伟", tomorrow, "张总，新样品到了。")
    assert "2026-11-24 10:00" in texts(first)
    assert ("第 2 条" if lang == "zh" else "no. 2") not in texts(first)
    second = await _one_off(bot, "张伟", tomorrow, "另外，报价单也一起带过去。")
    assert "2026-11-24 10:00" in texts(second)
    said = texts(second)
    assert ("第 2 条" in said and "都会" in said) if lang == "zh" else ("no. 2" in said and "all" in said)
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "one_off")
    assert sorted(r.text for r in rows) == sorted(["张总，新样品到了。", "另外，报价单也一起带过去。"])
    assert len({r.key for r in rows}) == 2
    await _plan(bot)  # planning leaves both alone
    assert await _dispatcher(bot).drain() == 0, "not before tomorrow's send hour"
    before = len(bot.standin.messages(CUSTOMER))
    clock.advance(days=1)
    assert await _dispatcher(bot).drain() == 2
    got = [m.text for m in bot.standin.messages(CUSTOMER)[before:]]
    assert got == ["张总，新样品到了。", "另外，报价单也一起带过去。"]


async def test_a_repeated_final_message_of_the_one_off_form_plans_it_once(bot: Driver) -> None:
    """Telegram delivering the last answer twice (or two taps at once) makes one row, not two."""
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    await _opt_in(bot, cid, "张伟")
    await bot.send(REP, "张伟")
    await bot.press(REP, "💌")
    await bot.send(REP, "明天")
    update = bot.standin.text_update(REP, "张总，新样品到了。")
    await asyncio.gather(bot.feed(update), bot.feed(update))
    await bot.feed(update)
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "one_off")
    assert [r.text for r in rows] == ["张总，新样品到了。"]


async def test_the_same_one_off_form_finished_twice_keeps_one_row(bot: Driver) -> None:
    """The outbox key names the form, so finishing the same form again changes nothing."""
    from bot.domain.access import Actor, Role

    world = await build_world(bot)
    cid = await add_customer(bot, REP, "张伟")
    actor = Actor(REP, Role.REP, world.team)
    now = bot.services.now()
    day = now.date().replace(day=now.date().day + 1)
    for _ in range(2):
        await bot.services.db(
            lambda s: care_service.one_off(s, actor, cid, day=day, text="你好", now=now, form="f1")
        )
    other = await bot.services.db(
        lambda s: care_service.one_off(s, actor, cid, day=day, text="再见", now=now, form="f2")
    )
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "one_off")
    assert sorted(r.text for r in rows) == ["你好", "再见"]
    assert other.order == 2


async def test_a_customer_without_a_language_gets_the_reps_language(bot: Driver) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "刘洋")  # not on Telegram, no language on the card
    await _speaks_english(bot, REP)

    async def sold(session):  # type: ignore[no-untyped-def]
        session.add(
            Purchase(
                customer_id=cid,
                team_id=world.team,
                purchased_on=bot.services.today().replace(day=20),
                amount=12000,
                items="waterproof coating",
            )
        )

    await bot.services.db(sold)
    await _plan(bot)
    row = (await _rows(bot, OutboxMessage, col(OutboxMessage.customer_id) == cid))[0]
    assert row.language == "en" and row.text.startswith("Hello 刘洋")
    assert await _dispatcher(bot).drain() == 1
    handed = bot.standin.messages(REP)[-1].text or ""
    assert "pass this on" in handed and "How are you getting on with waterproof coating" in handed
    # A one-off for that customer is kept in the same language.
    await _one_off(bot, "刘洋", "tomorrow", "Hi, samples are in.")
    one_off = (await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "one_off"))[0]
    assert one_off.language == "en"
    # The customer's own language wins once it is known.
    await _set(bot, cid, language="zh")
    await _set(bot, cid, birthday_month=11, birthday_day=25)
    await _plan(bot)
    birthday = (
        await _rows(
            bot,
            OutboxMessage,
            col(OutboxMessage.customer_id) == cid,
            col(OutboxMessage.occasion) == "birthday",
        )
    )[0]
    assert birthday.language == "zh" and "生日快乐" in birthday.text


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_90_day_follow_up_asks_about_a_restock_only_for_consumables(bot: Driver, lang: str) -> None:
    world = await build_world(bot)
    equipment = await add_customer(bot, REP, "郑浩")
    supplies = await add_customer(bot, REP, "黄磊")
    # The rep notes on 黄磊's card that he buys consumables.
    await bot.send(REP, "黄磊")
    await bot.press(REP, "业务")
    await bot.press(REP, "编辑")
    await bot.press(REP, "采购类型")
    replies = await bot.press(REP, "耗材")
    assert "采购类型：耗材" in texts(replies)
    today = bot.services.today()

    async def sold(session):  # type: ignore[no-untyped-def]
        for cid, items in ((equipment, "中央厨房设备"), (supplies, "五金配件")):
            session.add(
                Purchase(
                    customer_id=cid,
                    team_id=world.team,
                    purchased_on=date.fromordinal(today.toordinal() - 89),
                    amount=9000,
                    items=items,
                )
            )

    await bot.services.db(sold)
    for cid in (equipment, supplies):
        await _set(bot, cid, language=lang)
    await _plan(bot)
    restock = ("补货", "再订") if lang == "zh" else ("top up", "re-order")
    rows = await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "followup_90")
    texts_of = {r.customer_id: r.text for r in rows}
    neutral, asks = texts_of[equipment], texts_of[supplies]
    assert "中央厨房设备" in neutral and not any(word in neutral for word in restock), neutral
    assert ("需要" in neutral) if lang == "zh" else ("anything you need" in neutral), neutral
    assert "五金配件" in asks and any(word in asks for word in restock), asks


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_two_purchases_on_one_day_get_one_follow_up_naming_both(bot: Driver, lang: str) -> None:
    world = await build_world(bot)
    cid = await add_customer(bot, REP, "刘洋")
    await _set(bot, cid, language=lang)

    async def sold(session):  # type: ignore[no-untyped-def]
        for items in ("防水涂料 50 桶", "滚刷 10 把"):
            session.add(
                Purchase(
                    customer_id=cid,
                    team_id=world.team,
                    purchased_on=bot.services.today().replace(day=20),
                    amount=100,
                    items=items,
                )
            )

    await bot.services.db(sold)
    await _plan(bot)
    (row,) = await _rows(bot, OutboxMessage, col(OutboxMessage.occasion) == "followup_3")
    both = "滚刷 10 把、防水涂料 50 桶" if lang == "zh" else "滚刷 10 把, 防水涂料 50 桶"
    assert both in row.text, row.text
