"""The care planner on a real database: what each customer is due, when, where, and only once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.care import Occasion
from bot.scheduling import outbox
from bot.scheduling.planner import PlanResult, plan, plan_team
from bot.services import care, team
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, Membership, OutboxMessage, Purchase, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday, 10:00 in Shanghai, 21:00 the day before in New York
LEAD, AMY, BOB, GONE = 300, 301, 302, 303


def render(lang: str, occasion: Occasion, params: Mapping[str, Any]) -> str:
    """The text as the planner asked for it: language, occasion and every parameter."""
    shown = ",".join(f"{name}={params[name]}" for name in sorted(params))
    return f"{lang}:{occasion.value}:{shown}"


async def _team(engine: AsyncEngine, name: str = "Care", *, members: bool = True, **settings: Any) -> int:
    """A team in Shanghai: a lead, Amy (Chinese), Bob (English, in New York) and a member who left."""
    async with transaction(make_session_factory(engine)) as session:
        team = Team(name=name, timezone="Asia/Shanghai", settings={"care": settings})
        session.add(team)
        if await session.get(User, LEAD) is None:
            session.add_all(
                [
                    User(telegram_id=LEAD, name="Lead"),
                    User(telegram_id=AMY, name="Amy"),
                    User(telegram_id=BOB, name="Bob", language="en", timezone="America/New_York"),
                    User(telegram_id=GONE, name="Gone"),
                ]
            )
        await session.flush()
        assert team.id is not None
        if not members:
            return team.id
        session.add_all(
            [
                Membership(user_id=LEAD, team_id=team.id, role="lead"),
                Membership(user_id=AMY, team_id=team.id, role="rep"),
                Membership(user_id=BOB, team_id=team.id, role="rep"),
                Membership(user_id=GONE, team_id=team.id, role="rep", active=False, left_at=NOW),
            ]
        )
        return team.id


async def _customer(
    engine: AsyncEngine,
    team_id: int,
    name: str,
    owner: int,
    *,
    chat: int | None = None,
    birthday: tuple[int, int] | None = None,
    bought: tuple[tuple[date, str], ...] = (),
    **fields: Any,
) -> int:
    """A customer; on Telegram (opted in) when `chat` is given."""
    async with transaction(make_session_factory(engine)) as session:
        values: dict[str, Any] = {
            "optin_state": "in" if chat is not None else "none",
            "telegram_chat_id": chat,
            "created_at": NOW - timedelta(days=400),
            **fields,
        }
        row = Customer(
            team_id=team_id,
            owner_id=owner,
            name=name,
            optin_code=f"code-{team_id}-{name}",
            birthday_month=birthday[0] if birthday else None,
            birthday_day=birthday[1] if birthday else None,
            **values,
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        for day, items in bought:
            session.add(
                Purchase(
                    customer_id=row.id,
                    team_id=team_id,
                    purchased_on=day,
                    amount=Decimal(100),
                    items=items,
                    created_by=owner,
                )
            )
        return row.id


async def _plan_team(engine: AsyncEngine, team_id: int, now: datetime = NOW) -> PlanResult:
    async with transaction(make_session_factory(engine)) as session:
        team = await session.get(Team, team_id)
        assert team is not None
        return await plan_team(session, team, now=now, render=render)


async def _rows(engine: AsyncEngine, *, customer_id: int | None = None) -> list[OutboxMessage]:
    """The outbox, by key; only one customer's rows when asked."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.key))
    if customer_id is not None:
        query = query.where(col(OutboxMessage.customer_id) == customer_id)
    async with transaction(make_session_factory(engine)) as session:
        return list((await session.exec(query)).all())


async def _care_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    return [row for row in await _rows(engine) if row.customer_id is not None]


async def test_a_birthday_is_planned_once_at_the_send_hour_of_the_customers_own_day(
    engine: AsyncEngine,
) -> None:
    team_id = await _team(engine)
    other_team = await _team(engine, "Elsewhere", members=False)
    lin = await _customer(engine, team_id, "Lin", AMY, chat=5001, birthday=(11, 25))
    # In New York it is still the 22nd: her birthday is tomorrow there, at 10:00 New York time.
    ny = await _customer(
        engine, team_id, "Nora", AMY, chat=5002, birthday=(11, 23), timezone="America/New_York"
    )
    far = await _customer(engine, other_team, "Far", LEAD, chat=5003, birthday=(11, 24), nickname="Fifi")
    async with transaction(make_session_factory(engine)) as session:
        first = await plan(session, now=NOW, render=render)
    assert (first.planned, first.skipped) == (3, 0)
    (birthday,) = await _rows(engine, customer_id=lin)
    assert (birthday.occasion, birthday.day, birthday.status) == ("birthday", date(2026, 11, 25), "planned")
    assert birthday.due_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert (birthday.channel, birthday.chat_id, birthday.rep_id) == ("telegram", 5001, AMY)
    assert birthday.text == "zh:birthday:company=Care,name=Lin,rep=Amy"
    (abroad,) = await _rows(engine, customer_id=ny)
    assert abroad.day == date(2026, 11, 23)
    assert abroad.due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
    (other,) = await _rows(engine, customer_id=far)
    assert (other.team_id, other.text) == (other_team, "zh:birthday:company=Elsewhere,name=Fifi,rep=Lead")

    before = [(row.key, row.status, row.due_at) for row in await _rows(engine)]
    for later in (NOW, NOW + timedelta(hours=1)):  # the next passes, the same morning
        async with transaction(make_session_factory(engine)) as session:
            assert await plan(session, now=later, render=render) == PlanResult(0, 0, 0)
    async with transaction(make_session_factory(engine)) as session:  # a day on: new agendas only
        next_day = await plan(session, now=NOW + timedelta(days=1), render=render)
    assert (next_day.planned, next_day.skipped) == (0, 0)
    after = {row.key: (row.key, row.status, row.due_at) for row in await _rows(engine)}
    assert [after[key] for key, _, _ in before] == before  # nothing planned twice, nothing moved
    assert len(await _rows(engine, customer_id=lin)) == 1


async def test_a_customer_not_on_telegram_is_greeted_through_their_rep(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    wang = await _customer(engine, team_id, "Wang", BOB, birthday=(11, 26))
    zoe = await _customer(engine, team_id, "Zoe", BOB, chat=5004, birthday=(11, 26), language="zh")
    await _plan_team(engine, team_id)
    (via_rep,) = await _rows(engine, customer_id=wang)
    assert (via_rep.channel, via_rep.chat_id, via_rep.rep_id) == ("via_rep", BOB, BOB)
    assert via_rep.text == "en:birthday:company=Care,name=Wang,rep=Bob"  # in Bob's language: he passes it on
    (direct,) = await _rows(engine, customer_id=zoe)
    assert (direct.channel, direct.chat_id) == ("telegram", 5004)
    assert direct.text.startswith("zh:birthday:")  # her own language before her rep's


async def test_opted_out_and_archived_customers_get_nothing(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    await _customer(engine, team_id, "Out", AMY, birthday=(11, 25), optin_state="out", telegram_chat_id=5005)
    await _customer(engine, team_id, "Gone", AMY, chat=5006, birthday=(11, 25), archived_at=NOW)
    leaving = await _customer(engine, team_id, "Leaving", AMY, chat=5007, birthday=(11, 27))
    first = await _plan_team(engine, team_id)
    assert [row.customer_id for row in await _care_rows(engine)] == [leaving]
    assert (first.planned, first.skipped) == (1, 0)
    async with transaction(make_session_factory(engine)) as session:  # she sends /stop
        customer = await session.get(Customer, leaving)
        assert customer is not None
        customer.optin_state = "out"
        session.add(customer)
    again = await _plan_team(engine, team_id, NOW + timedelta(hours=1))
    (row,) = await _care_rows(engine)
    assert (row.status, row.reason) == ("skipped", "no_longer_due")
    assert (again.planned, again.skipped) == (0, 0)


async def test_the_weekly_cap_skips_the_least_important_occasion(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    busy = await _customer(
        engine,
        team_id,
        "Busy",
        AMY,
        chat=5008,
        birthday=(11, 27),
        bought=((date(2026, 11, 21), "tea"), (date(2026, 10, 27), "cups")),
    )
    result = await _plan_team(engine, team_id)
    by_occasion = {row.occasion: row for row in await _rows(engine, customer_id=busy)}
    assert set(by_occasion) == {"birthday", "followup_3", "followup_30"}  # all in the week of the 23rd
    assert by_occasion["birthday"].status == "planned"
    assert by_occasion["followup_3"].status == "planned"
    assert by_occasion["followup_3"].day == date(2026, 11, 24)
    assert (by_occasion["followup_30"].status, by_occasion["followup_30"].reason) == ("skipped", "weekly_cap")
    assert (result.planned, result.skipped) == (2, 1)


async def test_a_corrected_birthday_skips_the_old_greeting_and_plans_the_new_one(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    lin = await _customer(engine, team_id, "Lin", AMY, chat=5001, birthday=(11, 25))
    await _plan_team(engine, team_id)
    async with transaction(make_session_factory(engine)) as session:  # the rep fixes a typo: the 28th
        customer = await session.get(Customer, lin)
        assert customer is not None
        customer.birthday_day = 28
        session.add(customer)
    await _plan_team(engine, team_id, NOW + timedelta(hours=1))
    rows = {row.day: row for row in await _rows(engine, customer_id=lin)}
    old, new = rows[date(2026, 11, 25)], rows[date(2026, 11, 28)]
    assert (old.status, old.reason) == ("skipped", "no_longer_due")
    assert (new.status, new.due_at) == ("planned", datetime(2026, 11, 28, 2, 0, tzinfo=UTC))


async def test_a_team_that_reviews_messages_and_turned_birthdays_off(engine: AsyncEngine) -> None:
    team_id = await _team(engine, review=True, occasions={"birthday": False})
    quiet = await _customer(
        engine, team_id, "Quiet", AMY, chat=5009, birthday=(11, 25), bought=((date(2026, 11, 21), "tea"),)
    )
    await _plan_team(engine, team_id)
    assert [(row.occasion, row.status) for row in await _rows(engine, customer_id=quiet)] == [
        ("followup_3", "review")
    ]


async def test_every_active_member_gets_a_morning_agenda_and_the_lead_a_digest(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    result = await _plan_team(engine, team_id)
    agendas = {(row.rep_id, row.day): row for row in await _rows(engine) if row.occasion == outbox.AGENDA}
    today, tomorrow = date(2026, 11, 23), date(2026, 11, 24)
    # 08:00 has passed in Shanghai but the morning is not over: today's goes now.
    assert agendas[(AMY, today)].due_at == NOW
    assert agendas[(AMY, tomorrow)].due_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert (agendas[(AMY, today)].chat_id, agendas[(AMY, today)].channel) == (AMY, "telegram")
    # Bob is in New York, where it is 21:00 on the 22nd: his next agenda is at 08:00 on the 23rd there.
    assert [day for rep, day in agendas if rep == BOB] == [today]
    assert agendas[(BOB, today)].due_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert agendas[(BOB, today)].language == "en"
    assert sorted({rep for rep, _ in agendas}) == [LEAD, AMY, BOB]  # not the member who left
    digests = [row for row in await _rows(engine) if row.occasion != outbox.AGENDA]
    assert {row.rep_id for row in digests} == {LEAD}
    assert result.agendas == len(agendas) + len(digests)
    assert result.planned == result.skipped == 0


async def test_an_agenda_planned_in_the_afternoon_waits_for_the_next_morning(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    afternoon = NOW + timedelta(hours=5)  # 15:00 in Shanghai
    await _plan_team(engine, team_id, afternoon)
    amy = [row for row in await _rows(engine) if row.occasion == outbox.AGENDA and row.rep_id == AMY]
    assert [(row.day, row.due_at) for row in amy] == [
        (date(2026, 11, 24), datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    ]


async def test_the_ninety_day_message_asks_about_a_restock_only_for_what_is_used_up(
    engine: AsyncEngine,
) -> None:
    team_id = await _team(engine, consumables=["paper"], durables=["printer"])
    on_the_24th = date(2026, 8, 26)  # 90 days before 24 November
    paper = await _customer(engine, team_id, "Paper", AMY, chat=5010, bought=((on_the_24th, "A4 Paper x10"),))
    printer = await _customer(
        engine, team_id, "Printer", AMY, chat=5011, bought=((on_the_24th, "Laser printer"),)
    )
    card = await _customer(
        engine,
        team_id,
        "Card",
        AMY,
        chat=5012,
        bought=((on_the_24th, "toner"),),
        extra={"purchase_kind": "consumable"},
    )
    unknown = await _customer(engine, team_id, "Unknown", AMY, chat=5013, bought=((on_the_24th, "misc"),))
    await _plan_team(engine, team_id)
    texts: dict[int, str] = {}
    for customer_id in (paper, printer, card, unknown):
        (row,) = await _rows(engine, customer_id=customer_id)
        assert (row.occasion, row.day) == ("followup_90", date(2026, 11, 24))
        texts[customer_id] = row.text
    assert "kind=consumable," in texts[paper] and "items=A4 Paper x10" in texts[paper]
    assert "kind=durable," in texts[printer]
    assert "kind=consumable," in texts[card]  # the card's "what they buy" when the items say nothing
    assert "kind=," in texts[unknown]  # nothing says: no restock presumed


async def test_waiting_messages_follow_customers_handed_to_another_rep(engine: AsyncEngine) -> None:
    team_id = await _team(engine)
    wang = await _customer(engine, team_id, "Wang", AMY, birthday=(11, 26))
    zoe = await _customer(engine, team_id, "Zoe", AMY, chat=5004, birthday=(11, 26), language="zh")
    await _plan_team(engine, team_id)
    async with transaction(make_session_factory(engine)) as session:
        amy = Actor(AMY, Role.REP, team_id)
        one_off = await care.one_off(
            session, amy, wang, day=date(2026, 11, 25), text="样品寄出了", now=NOW, form="f"
        )
    assert {r.rep_id for r in await _care_rows(engine)} == {AMY}
    async with transaction(make_session_factory(engine)) as session:
        await team.reassign_customers(
            session, Actor(LEAD, Role.LEAD, team_id), team_id=team_id, from_user=AMY, to_user=BOB, now=NOW
        )
    await _plan_team(engine, team_id)
    rows = {(r.customer_id, r.occasion): r for r in await _care_rows(engine)}
    greeting, direct = rows[(wang, "birthday")], rows[(zoe, "birthday")]
    assert (greeting.rep_id, greeting.chat_id) == (BOB, BOB)  # Bob passes it on now, in his words
    assert greeting.text == "en:birthday:company=Care,name=Wang,rep=Bob"
    assert (direct.rep_id, direct.chat_id, direct.text) == (
        BOB,
        5004,
        "zh:birthday:company=Care,name=Zoe,rep=Bob",
    )
    mine = rows[(wang, "one_off")]
    assert (mine.id, mine.rep_id, mine.chat_id, mine.text) == (one_off.row.id, BOB, BOB, "样品寄出了")
    assert len(rows) == 3
