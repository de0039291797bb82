"""The incremental planner plans exactly what a full pass every time would.

The same random story is played twice on the same database: once planned by a full pass
after every step (the planner as it was), once by what `salesbot run` and `salesbot
dispatch` now do (a full pass at each process's start, then only what changed, and a
team in full at each of its new local days). After every step the two outboxes must be
the same, row for row: keys, statuses and reasons, texts, times, channels and chats.
A step is a change to the cards, the purchases, the team's rules or members, or the
outbox, made through the services as the bot makes them or by a second process (another
engine: a dispatch worker sending, claiming and dying, a customer blocking the bot, a
write by hand), and the clock moving on, by a quarter of an hour or by many hours,
across midnight in Shanghai, New York, London, Kolkata and Auckland, and into the days
of New Year's Day. Two processes plan in turn, each starting with a full pass.

Changes committed while a pass runs, in any order, and two passes at once are the
subject of the tests at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.domain.care import Occasion
from bot.domain.errors import SalesbotError
from bot.scheduling import outbox
from bot.scheduling.planner import PlanResult, plan, plan_changes
from bot.services import care, customers, optin, team
from bot.services.digest import settings as digest_prefs
from bot.storage.db import make_engine, make_session_factory, transaction
from bot.storage.models import Customer, Membership, OutboxMessage, PlanMark, Purchase, Team, User
from tests.conftest import wipe

START = datetime(
    2026, 12, 24, 1, 0, tzinfo=UTC
)  # Thursday, 09:00 in Shanghai, 20:00 the day before in New York
ZONES = (None, None, "America/New_York", "Europe/London", "Pacific/Auckland", "Asia/Kolkata")
# Far east and far west of Shanghai too: a member's "today" and "tomorrow" move by a day.
MEMBER_ZONES = (
    None,
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)
LUNAR = ("农历十一月十七", "农历十一月十九", "农历十一月二十", "农历腊月初三")


def render(lang: str, occasion: Occasion, params: Mapping[str, Any]) -> str:
    """The text as the planner asked for it: language, occasion and every parameter."""
    shown = ",".join(f"{name}={params[name]}" for name in sorted(params))
    return f"{lang}:{occasion.value}:{shown}"


@dataclass
class Story:
    """The world a story plays in, its clock and its two processes."""

    bot: AsyncEngine  # the bot's process
    worker: AsyncEngine  # a second process (`salesbot dispatch`, or someone's SQL)
    rng: random.Random
    now: datetime = START
    teams: dict[str, int] = field(default_factory=dict)  # "cn", "us"
    leads: dict[int, int] = field(default_factory=dict)  # team → lead
    reps: dict[int, list[int]] = field(default_factory=dict)  # team → reps
    spare: dict[int, int] = field(default_factory=dict)  # team → a user who may join
    log: list[str] = field(default_factory=list)
    counter: int = 0

    async def on(self, engine: AsyncEngine, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with transaction(make_session_factory(engine)) as session:
            return await work(session)

    def today(self) -> date:
        return (self.now + timedelta(hours=8)).date()  # in Shanghai

    async def pick_customer(self, *where: Any) -> Customer | None:
        async def find(session: AsyncSession) -> list[Customer]:
            return list((await session.exec(select(Customer).where(*where).order_by(col(Customer.id)))).all())

        found = await self.on(self.bot, find)
        return self.rng.choice(found) if found else None

    async def pick_row(self, *where: Any) -> OutboxMessage | None:
        async def find(session: AsyncSession) -> list[OutboxMessage]:
            query = select(OutboxMessage).where(*where).order_by(col(OutboxMessage.key))
            return list((await session.exec(query)).all())

        found = await self.on(self.bot, find)
        return self.rng.choice(found) if found else None


async def build(story: Story) -> None:
    """Two teams (Shanghai with the Chinese festivals; New York greeting New Year's Day, one a week),
    three staff each and a spare user, twelve customers each: birthdays solar and lunar around
    the new year, all sorts of timezones, some on Telegram, grades, purchases days and months ago."""
    rng = story.rng
    async with transaction(make_session_factory(story.bot)) as session:
        for code, tz, care_rules in (
            ("cn", "Asia/Shanghai", {}),
            ("us", "America/New_York", {"country": "US", "weekly_cap": 1, "quiet_start": 22}),
        ):
            row = Team(name=f"Team {code}", timezone=tz, settings={"care": care_rules})
            session.add(row)
            await session.flush()
            assert row.id is not None
            base = 500 if code == "cn" else 600
            lead, reps, spare = base, [base + 1, base + 2], base + 9
            session.add_all(
                [
                    User(telegram_id=lead, name=f"Lead {code}"),
                    User(telegram_id=reps[0], name=f"Amy {code}"),
                    User(telegram_id=reps[1], name=f"Bob {code}", language="en", timezone="America/Chicago"),
                    User(telegram_id=spare, name=f"Spare {code}", timezone="Asia/Tokyo"),
                ]
            )
            await session.flush()
            session.add_all(
                [Membership(user_id=lead, team_id=row.id, role="lead")]
                + [Membership(user_id=rep, team_id=row.id, role="rep") for rep in reps]
            )
            story.teams[code], story.leads[row.id], story.reps[row.id], story.spare[row.id] = (
                row.id,
                lead,
                reps,
                spare,
            )
            for n in range(12):
                birthday = rng.random() < 0.6
                lunar = birthday and rng.random() < 0.2
                day = START.date() + timedelta(days=rng.randint(-3, 12))
                on_telegram = rng.random() < 0.5
                customer = Customer(
                    team_id=row.id,
                    owner_id=rng.choice([*reps, lead]),
                    name=f"C{code}{n}",
                    nickname=f"c{n}" if rng.random() < 0.3 else None,
                    optin_code=f"story-{code}-{n}",
                    optin_state="in" if on_telegram else "none",
                    grade=rng.choice((None, "A", "B", "C")),
                    timezone=rng.choice(ZONES),
                    birthday_month=11 if lunar else day.month if birthday else None,
                    birthday_day=rng.randint(17, 20) if lunar else day.day if birthday else None,
                    birthday_lunar=lunar,
                    language=rng.choice((None, "en", "zh")),
                )
                session.add(customer)
                await session.flush()
                assert customer.id is not None
                if on_telegram:
                    customer.telegram_chat_id = 80_000 + customer.id
                for _ in range(rng.choice((0, 0, 1, 2))):
                    ago = rng.choice((1, 2, 3, 4, 27, 29, 30, 31, 86, 88, 90, 92, 362, 365))
                    session.add(
                        Purchase(
                            customer_id=customer.id,
                            team_id=row.id,
                            purchased_on=START.date() - timedelta(days=ago),
                            amount=Decimal(rng.randint(1, 50) * 100),
                            items=rng.choice(("tea", "paper", "printer", "")),
                        )
                    )


# ------------------------------------------------------------------------- the steps


async def set_birthday(story: Story) -> str:
    customer = await story.pick_customer(col(Customer.archived_at).is_(None))
    if customer is None:
        return "no customer"
    assert customer.id is not None
    if story.rng.random() < 0.2:
        raw = story.rng.choice(LUNAR)
    elif story.rng.random() < 0.1:
        raw = None
    else:
        day = story.today() + timedelta(days=story.rng.randint(-1, 9))
        raw = f"{day.month}月{day.day}日"
    actor = Actor(customer.owner_id, Role.REP, customer.team_id)
    await story.on(
        story.bot,
        lambda s: customers.update_field(s, actor, customer.id, key="birthday", raw=raw, now=story.now),
    )
    return f"birthday of {customer.name} → {raw}"


async def set_timezone(story: Story) -> str:
    customer = await story.pick_customer(col(Customer.archived_at).is_(None))
    if customer is None:
        return "no customer"
    raw = story.rng.choice([z for z in ZONES if z])
    actor = Actor(customer.owner_id, Role.REP, customer.team_id)
    await story.on(
        story.bot,
        lambda s: customers.update_field(s, actor, customer.id, key="timezone", raw=raw, now=story.now),
    )
    return f"timezone of {customer.name} → {raw}"


async def set_grade(story: Story) -> str:
    customer = await story.pick_customer(col(Customer.archived_at).is_(None))
    if customer is None:
        return "no customer"
    grade = story.rng.choice(("A", "B", "C", None))
    actor = Actor(customer.owner_id, Role.REP, customer.team_id)
    await story.on(
        story.bot,
        lambda s: customers.set_grade(s, actor, customer.id, grade=grade, now=story.now),
    )
    return f"grade of {customer.name} → {grade}"


async def buy(story: Story) -> str:
    customer = await story.pick_customer(col(Customer.archived_at).is_(None))
    if customer is None:
        return "no customer"
    day = story.today() - timedelta(days=story.rng.choice((0, 1, 2, 3, 27, 29, 30, 87, 89, 90, 364)))
    actor = Actor(customer.owner_id, Role.REP, customer.team_id)
    items = story.rng.choice(("tea", "paper", "printer", "toner"))
    await story.on(
        story.bot,
        lambda s: customers.add_purchase(
            s,
            actor,
            customer.id,
            amount=Decimal(900),
            items=items,
            purchased_on=day,
            now=story.now,
            note_text=items,
        ),
    )
    return f"{customer.name} bought {items} on {day}"


async def unbuy(story: Story) -> str:
    async def remove(session: AsyncSession) -> str:
        recent = col(Purchase.purchased_on) >= story.today() - timedelta(days=100)
        found = list((await session.exec(select(Purchase).where(recent).order_by(col(Purchase.id)))).all())
        if not found:
            return "no purchase"
        gone = story.rng.choice(found)
        await session.exec(delete(Purchase).where(col(Purchase.id) == gone.id))
        return f"purchase {gone.id} of customer {gone.customer_id} removed by hand"

    return str(await story.on(story.worker, remove))


async def opt_in(story: Story) -> str:
    customer = await story.pick_customer(
        col(Customer.archived_at).is_(None), col(Customer.optin_state) != "in"
    )
    if customer is None:
        return "nobody to opt in"
    assert customer.id is not None
    actor = Actor(80_000 + customer.id, Role.STRANGER, language="en")
    await story.on(story.bot, lambda s: optin.opt_in(s, actor, code=customer.optin_code, now=story.now))
    return f"{customer.name} opened their link"


async def opt_out(story: Story) -> str:
    customer = await story.pick_customer(col(Customer.optin_state) == "in")
    if customer is None or customer.telegram_chat_id is None:
        return "nobody to opt out"
    actor = Actor(customer.telegram_chat_id, Role.CUSTOMER)
    await story.on(story.bot, lambda s: optin.opt_out(s, actor, now=story.now))
    return f"{customer.name} sent /stop"


async def block(story: Story) -> str:
    row = await story.pick_row(
        col(OutboxMessage.channel) == "telegram",
        col(OutboxMessage.customer_id).is_not(None),
        col(OutboxMessage.status).in_(("planned", "claimed")),
    )
    if row is None:
        return "no message to be blocked"
    assert row.id is not None
    await story.on(story.worker, lambda s: outbox.blocked(s, outbox_id=row.id, now=story.now))
    return f"the worker found customer {row.customer_id} blocked the bot ({row.key})"


async def archive(story: Story) -> str:
    customer = await story.pick_customer()
    if customer is None:
        return "no customer"
    archived = None if customer.archived_at is not None else story.now

    async def change(session: AsyncSession) -> None:
        await session.exec(
            update(Customer).where(col(Customer.id) == customer.id).values(archived_at=archived)
        )

    await story.on(story.worker, change)
    return f"{customer.name} {'archived' if archived else 'back from the archive'} by hand"


async def rename(story: Story) -> str:
    customer = await story.pick_customer()
    if customer is None:
        return "no customer"
    story.counter += 1
    name, language = f"{customer.name}'", story.rng.choice((None, "en", "zh"))

    async def change(session: AsyncSession) -> None:
        await session.exec(
            update(Customer).where(col(Customer.id) == customer.id).values(name=name, language=language)
        )
        rep = await session.get(User, customer.owner_id)
        assert rep is not None
        rep.name, rep.language = f"{rep.name}'", story.rng.choice(("en", "zh"))
        session.add(rep)

    await story.on(story.worker, change)
    return f"{customer.name} renamed {name}, language {language}, their rep renamed"


async def new_customer(story: Story) -> str:
    code = story.rng.choice(("cn", "us"))
    team_id = story.teams[code]
    rep = story.rng.choice(story.reps[team_id])
    story.counter += 1
    day = story.today() + timedelta(days=story.rng.randint(0, 8))
    values = {"name": f"New{story.counter}", "birthday": f"{day.month}月{day.day}日"}
    actor = Actor(rep, Role.REP, team_id)
    await story.on(story.bot, lambda s: customers.create_customer(s, actor, values=values, now=story.now))
    return f"new customer {values}"


async def reassign(story: Story) -> str:
    team_id = story.teams[story.rng.choice(("cn", "us"))]
    from_user, to_user = story.rng.sample([*story.reps[team_id], story.leads[team_id]], 2)
    actor = Actor(story.leads[team_id], Role.LEAD, team_id)
    await story.on(
        story.bot,
        lambda s: team.reassign_customers(
            s, actor, team_id=team_id, from_user=from_user, to_user=to_user, now=story.now
        ),
    )
    return f"customers of {from_user} handed to {to_user}"


RULES = (
    ("mode", ""),
    ("send_hour", "+"),
    ("send_hour", "-"),
    ("quiet_start", "-"),
    ("quiet_end", "+"),
    ("agenda_hour", "+"),
    ("weekly_cap", "-"),
    ("weekly_cap", "+"),
    ("occasion", "birthday"),
    ("occasion", "new_year"),
    ("occasion", "holiday"),
    ("occasion", "followup_3"),
    ("occasion", "anniversary"),
)


async def change_rule(story: Story) -> str:
    team_id = story.teams[story.rng.choice(("cn", "us"))]
    rule, arg = story.rng.choice(RULES)
    actor = Actor(story.leads[team_id], Role.LEAD, team_id)
    await story.on(
        story.bot, lambda s: care.change_rule(s, actor, team_id, rule=rule, arg=arg, now=story.now)
    )
    return f"team {team_id}: care rule {rule} {arg}"


async def team_by_hand(story: Story) -> str:
    """A team's timezone, digest hour or name, changed by someone else."""
    team_id = story.teams[story.rng.choice(("cn", "us"))]
    what = story.rng.choice(("timezone", "digest", "name"))
    value: Any = None

    async def change(session: AsyncSession) -> None:
        nonlocal value
        row = await session.get(Team, team_id)
        assert row is not None
        if what == "timezone":
            row.timezone = value = story.rng.choice(("Asia/Shanghai", "America/New_York", "Asia/Tokyo"))
        elif what == "digest":
            value = {"hours": {str(story.leads[team_id]): story.rng.randint(6, 20)}}
            row.settings = {**row.settings, "digest": value}
        else:
            row.name = value = f"{row.name}'"
        session.add(row)

    await story.on(story.worker, change)
    return f"team {team_id}: {what} → {value} by hand"


async def members(story: Story) -> str:
    """The spare user joins, leaves, or moves to another timezone; or a rep does."""
    team_id = story.teams[story.rng.choice(("cn", "us"))]
    spare = story.spare[team_id]

    async def change(session: AsyncSession) -> str:
        membership = (await session.exec(select(Membership).where(col(Membership.user_id) == spare))).first()
        roll = story.rng.random()
        if roll < 0.3:
            user = await session.get(User, story.rng.choice([spare, *story.reps[team_id]]))
            assert user is not None
            user.timezone = story.rng.choice(MEMBER_ZONES)
            session.add(user)
            return f"user {user.telegram_id} now in {user.timezone}"
        if membership is None:
            session.add(Membership(user_id=spare, team_id=team_id, role="rep", joined_at=story.now))
            return f"user {spare} joins team {team_id}"
        membership.active = not membership.active
        session.add(membership)
        return f"user {spare} {'back in' if membership.active else 'leaves'} team {team_id}"

    return str(await story.on(story.worker, change))


async def one_off(story: Story) -> str:
    customer = await story.pick_customer(
        col(Customer.archived_at).is_(None), col(Customer.optin_state) != "out"
    )
    if customer is None:
        return "no customer"
    story.counter += 1
    day = story.today() + timedelta(days=story.rng.randint(0, 5))
    actor = Actor(customer.owner_id, Role.REP, customer.team_id)
    form = f"f{story.counter}"
    await story.on(
        story.bot,
        lambda s: care.one_off(s, actor, customer.id, day=day, text="see you", now=story.now, form=form),
    )
    return f"rep's own message to {customer.name} on {day}"


async def rep_acts(story: Story) -> str:
    """A rep skips a message, approves one in review, or marks one handed as sent."""
    row = await story.pick_row(
        col(OutboxMessage.customer_id).is_not(None),
        col(OutboxMessage.status).in_(("review", "planned", "handed")),
    )
    if row is None or row.id is None:
        return "nothing for a rep"
    actor = Actor(row.rep_id, Role.REP, row.team_id)
    outbox_id = row.id
    if row.status == "review":
        await story.on(story.bot, lambda s: care.approve(s, actor, outbox_id, now=story.now))
        return f"rep approved {row.key}"
    if row.status == "handed":
        await story.on(story.bot, lambda s: care.mark_sent_by_rep(s, actor, outbox_id, now=story.now))
        return f"rep passed on {row.key}"
    await story.on(story.bot, lambda s: care.skip_by_rep(s, actor, outbox_id, now=story.now))
    return f"rep skipped {row.key}"


async def dispatch(story: Story) -> str:
    """The worker sends what is due; now and then it dies in the middle, leaving rows claimed."""
    dies = story.rng.random() < 0.3

    async def send(session: AsyncSession) -> str:
        rows = await outbox.claim(session, now=story.now, worker="w2", limit=50)
        if dies:
            return f"worker claimed {len(rows)} rows and died"
        for row in rows:
            assert row.id is not None
            await outbox.start_sending(session, outbox_id=row.id, worker="w2", now=story.now)
            await outbox.delivered(
                session, outbox_id=row.id, message_id=1, now=story.now, to_rep=row.channel == "via_rep"
            )
        return f"worker sent {len(rows)} rows"

    return str(await story.on(story.worker, send))


async def recover(story: Story) -> str:
    """A worker starting later takes back the rows whose lease ran out."""
    count = await story.on(story.worker, lambda s: outbox.recover(s, now=story.now))
    return f"worker recovered {count} rows"


async def digest_settings(story: Story) -> str:
    """A lead turns their digest off or on, moves its hour, or sends it to the team's group."""
    team_id = story.teams[story.rng.choice(("cn", "us"))]
    lead = Actor(story.leads[team_id], Role.LEAD, team_id)
    roll = story.rng.random()
    if roll < 0.5:
        off = story.rng.random() < 0.5
        await story.on(
            story.bot, lambda s: digest_prefs.set_off(s, lead, team_id=team_id, off=off, now=story.now)
        )
        return f"team {team_id}: lead's digest {'off' if off else 'on'}"
    if roll < 0.8:
        hour = story.rng.choice(digest_prefs.HOURS)
        await story.on(
            story.bot, lambda s: digest_prefs.set_hour(s, lead, team_id=team_id, hour=hour, now=story.now)
        )
        return f"team {team_id}: lead's digest at {hour}:00"
    chat = story.rng.choice((None, -1000 - team_id))
    await story.on(
        story.bot, lambda s: digest_prefs.set_group(s, lead, chat_id=chat, thread_id=None, title="group")
    )
    return f"team {team_id}: digest to group {chat}"


async def row_by_hand(story: Story) -> str:
    """Someone deletes a waiting row by hand, or another process writes a rep's message for any card."""
    if story.rng.random() < 0.5:
        row = await story.pick_row(col(OutboxMessage.status).in_(("review", "planned")))
        if row is None:
            return "no row to delete"

        async def remove(session: AsyncSession) -> None:
            await session.exec(delete(OutboxMessage).where(col(OutboxMessage.id) == row.id))

        await story.on(story.worker, remove)
        return f"{row.key} deleted by hand"
    customer = await story.pick_customer()
    if customer is None:
        return "no customer"
    assert customer.id is not None
    story.counter += 1
    day = story.today() + timedelta(days=story.rng.randint(0, 4))
    row = outbox.new_row(
        key=f"{customer.id}:one_off:{day}:x{story.counter}",
        team_id=customer.team_id,
        customer_id=customer.id,
        rep_id=customer.owner_id,
        occasion=outbox.ONE_OFF,
        day=day,
        channel="via_rep",
        chat_id=customer.owner_id,
        language="zh",
        text="by hand",
        due_at=story.now + timedelta(days=1),
        now=story.now,
    )
    await story.on(story.worker, lambda s: outbox.insert_new(s, [row]))
    archived = customer.archived_at is not None
    return f"a message for {customer.name} (archived {archived}, {customer.optin_state}) by another process"


async def nothing(story: Story) -> str:
    return "nothing happens"


STEPS: tuple[tuple[Callable[[Story], Awaitable[str]], int], ...] = (
    (set_birthday, 6),
    (set_timezone, 2),
    (set_grade, 2),
    (buy, 3),
    (unbuy, 2),
    (opt_in, 2),
    (opt_out, 1),
    (block, 1),
    (archive, 1),
    (rename, 1),
    (new_customer, 2),
    (reassign, 1),
    (change_rule, 3),
    (team_by_hand, 1),
    (members, 4),
    (digest_settings, 2),
    (row_by_hand, 2),
    (one_off, 2),
    (rep_acts, 2),
    (dispatch, 3),
    (recover, 1),
    (nothing, 3),
)

Snapshot = list[tuple[Any, ...]]
STORY = 100  # steps


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """The outbox, row by row, as a customer, a rep and the dispatcher see it."""
    async with transaction(make_session_factory(engine)) as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.key)))).all()
    return [
        (r.key, r.status, r.reason, r.text, r.due_at, r.channel, r.chat_id, r.rep_id, r.language, r.day)
        for r in rows
    ]


@dataclass
class Process:
    """A process that plans: the first pass in full (as `jobs.plan_now`), then what changed."""

    engine: AsyncEngine
    planned: bool = False

    async def plan(self, now: datetime, *, incremental: bool) -> PlanResult:
        work = plan_changes if incremental and self.planned else plan
        async with transaction(make_session_factory(self.engine)) as session:
            result = await work(session, now=now, render=render)
        self.planned = True
        return result


async def play(story: Story, *, steps: int, incremental: bool) -> list[Snapshot]:
    """Build the world and play the story, a planning pass after each step; the outbox after each."""
    await build(story)
    processes = [Process(story.bot), Process(story.worker)]
    shots = []
    for number in range(steps):
        step = story.rng.choices([s for s, _ in STEPS], weights=[w for _, w in STEPS])[0]
        try:
            what = await step(story)
        except SalesbotError as refused:  # the service said no, as it would to the rep
            what = f"{step.__name__} refused: {type(refused).__name__}"
        roll = story.rng.random()
        story.now += timedelta(minutes=15) if roll < 0.7 else timedelta(hours=story.rng.randint(1, 11))
        who = story.rng.randrange(2)
        if story.rng.random() < 0.05:
            processes[who] = Process(processes[who].engine)  # a restart: its first pass is full again
        await processes[who].plan(story.now, incremental=incremental)
        story.log.append(f"{number}: {what}; now {story.now:%m-%d %H:%M}, planned by process {who}")
        shots.append(await snapshot(story.bot))
    return shots


def _differences(full: Snapshot, incremental: Snapshot) -> list[str]:
    a, b = set(full), set(incremental)
    return [f"only full: {row}" for row in sorted(a - b, key=str)] + [
        f"only incremental: {row}" for row in sorted(b - a, key=str)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_after_any_series_of_changes_the_outbox_is_what_a_full_pass_every_time_makes(
    engine: AsyncEngine, database_url: str, seed: int
) -> None:
    worker = make_engine(database_url)
    try:
        full = Story(engine, worker, random.Random(seed))
        expected = await play(full, steps=STORY, incremental=False)
        await wipe(engine)
        incremental = Story(engine, worker, random.Random(seed))
        got = await play(incremental, steps=STORY, incremental=True)
    finally:
        await worker.dispose()
    assert incremental.log == full.log  # the same story (its choices depend on the outbox too)
    for number, (want, have) in enumerate(zip(expected, got, strict=True)):
        assert want == have, (full.log[: number + 1], _differences(want, have)[:12])
    # A story worth the name: many messages, agendas and digests, in every state.
    assert len(expected[-1]) > 100
    statuses = {row[1] for shot in expected for row in shot}
    assert {"planned", "skipped", "claimed", "sent", "handed", "failed"} <= statuses, statuses
    print("\n".join(full.log))


# ------------------------------------------------------- changes while a pass runs, passes at once


async def _birthday(engine: AsyncEngine, customer_id: int, day: date) -> None:
    async with transaction(make_session_factory(engine)) as session:
        await session.exec(
            update(Customer)
            .where(col(Customer.id) == customer_id)
            .values(birthday_month=day.month, birthday_day=day.day, birthday_lunar=False, birthday_year=None)
        )


async def _settled(engine: AsyncEngine, now: datetime) -> Snapshot:
    """The outbox, after checking that a full pass now would change nothing in it."""
    before = await snapshot(engine)
    async with transaction(make_session_factory(engine)) as session:
        assert await plan(session, now=now, render=render) == PlanResult(0, 0, 0)
    assert await snapshot(engine) == before
    return before


async def test_a_change_committed_while_a_pass_runs_is_planned_by_the_next(
    engine: AsyncEngine, database_url: str
) -> None:
    """Two writes overlap a pass and commit in the opposite order to the one they began in: the
    pass sees neither (or only the second), and the next pass plans both."""
    worker, other = make_engine(database_url), make_engine(database_url)
    story = Story(engine, worker, random.Random(7))
    try:
        await build(story)
        bot = Process(engine)
        await bot.plan(story.now, incremental=True)
        first, second = [c.id for c in await _customers(engine)][:2]
        assert first is not None and second is not None
        early, late = story.today() + timedelta(days=3), story.today() + timedelta(days=5)
        story.now += timedelta(minutes=15)
        # The first write begins (and holds its transaction open) before the second…
        async with make_session_factory(worker)() as slow:
            await slow.exec(
                update(Customer)
                .where(col(Customer.id) == first)
                .values(
                    birthday_month=early.month,
                    birthday_day=early.day,
                    birthday_lunar=False,
                    birthday_year=None,
                )
            )
            await slow.flush()
            if engine.dialect.name == "postgresql":
                await _birthday(other, second, late)  # …which commits first,
                result = await bot.plan(story.now, incremental=True)  # then a pass runs to its end,
                await slow.commit()  # and only then the first commits.
            else:  # SQLite has one writer at a time: the pass waits for the first write's commit.
                passing = asyncio.create_task(bot.plan(story.now, incremental=True))
                await asyncio.sleep(0.3)
                await slow.commit()
                result = await passing
                await _birthday(other, second, late)
        planned = {row[0] for row in await snapshot(engine)}
        if engine.dialect.name == "postgresql":
            assert f"{second}:birthday:{late}" in planned and result.planned >= 1
            assert f"{first}:birthday:{early}" not in planned  # not visible to that pass
            async with transaction(make_session_factory(engine)) as session:
                marks = select(PlanMark).where(col(PlanMark.customer_id) == first)
                assert (await session.exec(marks)).all(), "the first write's mark waits for the next pass"
        story.now += timedelta(minutes=15)
        await bot.plan(story.now, incremental=True)
        planned = {row[0] for row in await _settled(engine, story.now)}
        assert {f"{first}:birthday:{early}", f"{second}:birthday:{late}"} <= planned
    finally:
        await worker.dispose()
        await other.dispose()


async def _customers(engine: AsyncEngine) -> list[Customer]:
    async with transaction(make_session_factory(engine)) as session:
        query = select(Customer).where(col(Customer.archived_at).is_(None)).order_by(col(Customer.id))
        return list((await session.exec(query)).all())


async def test_two_processes_planning_at_once_plan_each_row_once(
    engine: AsyncEngine, database_url: str
) -> None:
    """The bot and a worker pass at the same moment, many times over, while the cards change."""
    worker = make_engine(database_url)
    story = Story(engine, worker, random.Random(8))
    try:
        await build(story)
        processes = [Process(engine), Process(worker)]
        counted = 0
        for _ in range(6):
            for step in (set_birthday, buy, change_rule, opt_in):
                with contextlib.suppress(SalesbotError):
                    await step(story)
            story.now += timedelta(hours=story.rng.choice((1, 7)))
            results = await asyncio.gather(*(p.plan(story.now, incremental=True) for p in processes))
            rows = await snapshot(engine)
            assert len({row[0] for row in rows}) == len(rows)
            counted += sum(r.planned + r.skipped + r.agendas for r in results)
        assert counted == len(rows)  # no team's rows were written by both passes
        await _settled(engine, story.now)
    finally:
        await worker.dispose()


# ------------------------------------------------------------- one change at a time, at its moment

# The week ahead holds New Year's Day everywhere; 18:30 in Shanghai, already the 28th on Kiritimati.
CASE_START = datetime(2026, 12, 27, 10, 30, tzinfo=UTC)


async def _by_hand(story: Story, statement: Any) -> None:
    await story.on(story.worker, lambda s: s.exec(statement))


async def _first(story: Story, *where: Any) -> Customer:
    async def find(session: AsyncSession) -> Customer:
        query = select(Customer).where(*where).order_by(col(Customer.id))
        return (await session.exec(query)).first()  # type: ignore[return-value]

    found = await story.on(story.bot, find)
    assert found is not None, "the world has such a customer"
    return found


async def _no_new_year(story: Story) -> None:
    lead = Actor(story.leads[story.teams["cn"]], Role.LEAD, story.teams["cn"])
    await story.on(
        story.bot,
        lambda s: care.change_rule(
            s, lead, story.teams["cn"], rule="occasion", arg="new_year", now=story.now
        ),
    )


async def _gone_member(story: Story) -> None:
    await _by_hand(story, update(Membership).where(col(Membership.user_id) == 501).values(active=False))


async def _a_group(story: Story) -> None:
    lead = Actor(story.leads[story.teams["cn"]], Role.LEAD, story.teams["cn"])
    await story.on(
        story.bot, lambda s: digest_prefs.set_group(s, lead, chat_id=-77, thread_id=None, title="g")
    )


async def _nothing(story: Story) -> None:
    pass


async def _purchase_removed(story: Story) -> None:
    async def remove(session: AsyncSession) -> None:
        recent = (
            await session.exec(
                select(Purchase).where(col(Purchase.purchased_on) >= START.date() - timedelta(days=5))
            )
        ).first()
        assert recent is not None
        await session.exec(delete(Purchase).where(col(Purchase.id) == recent.id))

    await story.on(story.worker, remove)


async def _row_removed(story: Story) -> None:
    await _by_hand(
        story,
        delete(OutboxMessage).where(
            col(OutboxMessage.status) == "planned", col(OutboxMessage.customer_id).is_not(None)
        ),
    )


async def _claimed_then_moved(story: Story) -> None:
    """A worker claims a birthday greeting and dies; the birthday is corrected; the lease runs out."""
    row = await story.pick_row(
        col(OutboxMessage.occasion) == "birthday", col(OutboxMessage.status) == "planned"
    )
    assert row is not None and row.customer_id is not None
    await _by_hand(
        story, update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(status="claimed")
    )
    await _by_hand(story, update(Customer).where(col(Customer.id) == row.customer_id).values(birthday_day=1))
    await _by_hand(
        story, update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(status="planned")
    )


async def _for_the_archived(story: Story) -> None:
    customer = await _first(story, col(Customer.archived_at).is_(None))
    await _by_hand(
        story, update(Customer).where(col(Customer.id) == customer.id).values(archived_at=story.now)
    )
    story.now += timedelta(minutes=15)
    await Process(story.bot, planned=True).plan(story.now, incremental=True)
    assert customer.id is not None
    day = story.today() + timedelta(days=1)
    row = outbox.new_row(
        key=f"{customer.id}:one_off:{day}:late",
        team_id=customer.team_id,
        customer_id=customer.id,
        rep_id=customer.owner_id,
        occasion=outbox.ONE_OFF,
        day=day,
        channel="via_rep",
        chat_id=customer.owner_id,
        language="zh",
        text="written elsewhere before the card was archived",
        due_at=story.now + timedelta(days=1),
        now=story.now,
    )
    await story.on(story.worker, lambda s: outbox.insert_new(s, [row]))


async def _moved_team(story: Story) -> None:
    customer = await _first(
        story, col(Customer.team_id) == story.teams["cn"], col(Customer.birthday_day).is_not(None)
    )
    await _by_hand(
        story, update(Customer).where(col(Customer.id) == customer.id).values(team_id=story.teams["us"])
    )


CASES: list[tuple[str, Callable[[Story], Awaitable[None]], Callable[[Story], Awaitable[None]]]] = [
    ("New Year's Day turned on", _no_new_year, _no_new_year),
    ("New Year's Day turned off", _nothing, _no_new_year),
    (
        "a member comes back in the morning",
        _gone_member,
        lambda s: _by_hand(s, update(Membership).where(col(Membership.user_id) == 501).values(active=True)),
    ),
    (
        "a member moves far east",
        _nothing,
        lambda s: _by_hand(
            s, update(User).where(col(User.telegram_id) == 501).values(timezone="Pacific/Kiritimati")
        ),
    ),
    ("the digest goes to the group", _nothing, _a_group),
    ("the digest comes back from the group", _a_group, lambda s: story_group_off(s)),
    (
        "the team moves to Tokyo",
        _nothing,
        lambda s: _by_hand(
            s, update(Team).where(col(Team.id) == s.teams["cn"]).values(timezone="Pacific/Auckland")
        ),
    ),
    ("a purchase removed by hand", _nothing, _purchase_removed),
    ("waiting rows deleted by hand", _nothing, _row_removed),
    ("a greeting back in the queue after its birthday moved", _nothing, _claimed_then_moved),
    ("another process writes for a card just archived", _nothing, _for_the_archived),
    ("a card moved to another team", _nothing, _moved_team),
]


async def story_group_off(story: Story) -> None:
    lead = Actor(story.leads[story.teams["cn"]], Role.LEAD, story.teams["cn"])
    await story.on(
        story.bot, lambda s: digest_prefs.set_group(s, lead, chat_id=None, thread_id=None, title="")
    )


async def _one_case(
    story: Story,
    setup: Callable[[Story], Awaitable[None]],
    change: Callable[[Story], Awaitable[None]],
    incremental: bool,
) -> list[Snapshot]:
    await build(story)
    await setup(story)
    bot = Process(story.bot)
    await bot.plan(story.now, incremental=incremental)
    shots = [await snapshot(story.bot)]
    await change(story)
    for _ in range(3):  # the next passes, within the same quarter of an hour of every timezone's day
        story.now += timedelta(minutes=5)
        await bot.plan(story.now, incremental=incremental)
        shots.append(await snapshot(story.bot))
    return shots


@pytest.mark.parametrize(("setup", "change"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_one_change_is_planned_at_the_same_pass_as_a_full_pass_would(
    engine: AsyncEngine,
    database_url: str,
    setup: Callable[[Story], Awaitable[None]],
    change: Callable[[Story], Awaitable[None]],
) -> None:
    worker = make_engine(database_url)
    try:
        expected = await _one_case(Story(engine, worker, random.Random(5), CASE_START), setup, change, False)
        await wipe(engine)
        got = await _one_case(Story(engine, worker, random.Random(5), CASE_START), setup, change, True)
    finally:
        await worker.dispose()
    for want, have in zip(expected, got, strict=True):
        assert want == have, _differences(want, have)[:12]
    assert expected[0] != []
