"""Load the demo team of `demo.toml` through the same services the bot uses."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role
from bot.practice.check import Drills
from bot.practice.grading import expected, grade
from bot.services import customers as svc
from bot.services import practice
from bot.services import team as team_service
from bot.storage.models import Customer, Membership, OutboxMessage, Outcome, PlaybookRun, Task, Team, User

DEMO_FILE = Path(__file__).with_name("demo.toml")


async def load_demo(
    session: AsyncSession, *, now: datetime, drills: Drills | None = None, path: Path = DEMO_FILE
) -> int:
    """Create the demo team once (a second call finds it and changes nothing); returns its id.

    With `drills` (the runtime's), the reps' practice of yesterday evening is loaded too."""
    with path.open("rb") as handle:
        spec: dict[str, Any] = tomllib.load(handle)
    name = spec["team"]["name"]
    existing = (await session.exec(select(Team).where(col(Team.name) == name))).first()
    if existing is not None and existing.id is not None:
        return existing.id
    team = Team(name=name, timezone=spec["team"]["timezone"])
    session.add(team)
    await session.flush()
    assert team.id is not None
    for member in spec["members"]:
        if await session.get(User, member["id"]) is None:
            session.add(User(telegram_id=member["id"], name=member["name"], language=member["language"]))
            await session.flush()  # users before memberships (no ORM relationship orders them)
        session.add(Membership(user_id=member["id"], team_id=team.id, role=member["role"], joined_at=now))
    await session.flush()
    today = now.astimezone(ZoneInfo(team.timezone)).date()  # the team's date, not UTC's
    ids: dict[str, int] = {}
    for index, entry in enumerate(spec["customers"]):
        owner = Actor(entry["owner"], Role.REP, team.id)
        moment = now - timedelta(days=len(spec["customers"]) - index)
        values = {k: str(entry[k]) for k in ("name", "company", "phone", "source_channel") if k in entry}
        if entry.get("birthday") == "today":
            values["birthday"] = f"{today.month}月{today.day}日"
        elif "birthday" in entry:
            values["birthday"] = entry["birthday"]
        customer = await svc.create_customer(session, owner, values=values, now=moment)
        customer.stage, customer.grade = entry.get("stage", "find"), entry.get("grade")
        customer.grade_manual = customer.grade is not None
        customer.tags = list(entry.get("tags", []))
        if "telegram" in entry:  # a customer who opened their link
            customer.telegram_chat_id, customer.optin_state = int(entry["telegram"]), "in"
        customer.extra = dict(entry.get("extra", {}))
        svc.reindex(customer)
        session.add(customer)
        assert customer.id is not None
        notes = entry.get("notes", [])
        for offset, text in enumerate(notes):
            await svc.add_note(
                session,
                owner,
                customer.id,
                text=text,
                kind="visit" if offset == 0 else "call",
                now=_same_day(
                    moment, timedelta(hours=offset + 1), left=len(notes) - offset, tz=team.timezone
                ),
            )
        for purchase in entry.get("purchases", []):
            when = now - timedelta(days=purchase["days_ago"])
            await svc.add_purchase(
                session,
                owner,
                customer.id,
                amount=Decimal(purchase["amount"]),
                items=purchase["items"],
                purchased_on=when.date(),
                now=when,
                note_text=f"{purchase['amount']} — {purchase['items']}",
            )
        customer.stage = entry.get("stage", customer.stage)
        if "contacted_days_ago" in entry:
            customer.last_contact_at = now - timedelta(days=int(entry["contacted_days_ago"]))
        session.add(customer)
        ids[entry["name"]] = customer.id
    for task in spec.get("tasks", []):
        session.add(
            Task(
                team_id=team.id,
                owner_id=task["owner"],
                customer_id=ids.get(task.get("customer", "")),
                due_on=today + timedelta(days=int(task["in_days"])),
                text=task["text"],
                created_at=now,
            )
        )
    await _yesterday(session, spec, team, ids, now=now)
    if drills is not None:
        await _practice(session, spec, team, drills, now=now)
    return team.id


def _same_day(moment: datetime, later: timedelta, *, left: int, tz: str) -> datetime:
    """`moment + later`, kept on moment's local day (the digest counts a note on the day it
    was written): late in the evening, the minutes before midnight, one for each note left."""
    zone = ZoneInfo(tz)
    midnight = datetime.combine(moment.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    latest = midnight.astimezone(UTC) - timedelta(minutes=left)
    return max(min(moment + later, latest), moment + timedelta(seconds=1))


async def _yesterday(
    session: AsyncSession, spec: dict[str, Any], team: Team, ids: dict[str, int], *, now: datetime
) -> None:
    """Yesterday's notes and stage moves, playbook outcomes and care messages, for the digest."""
    assert team.id is not None
    tz = ZoneInfo(team.timezone)
    yesterday = now.astimezone(tz).date() - timedelta(days=1)
    for entry in spec.get("yesterday", []):
        actor = Actor(entry["author"], Role.REP, team.id)
        when = datetime.combine(yesterday, time(entry["hour"]), tzinfo=tz).astimezone(UTC)
        customer_id = ids[entry["customer"]]
        await svc.add_note(session, actor, customer_id, text=entry["text"], kind=entry["kind"], now=when)
        if "stage" in entry:
            await svc.set_stage(session, actor, customer_id, stage=entry["stage"], now=when)
    for entry in spec.get("outcomes", []):
        when = now - timedelta(days=entry["days_ago"])
        due = entry.get("due_in_days")
        outcome = Outcome(
            team_id=team.id,
            customer_id=ids[entry["customer"]],
            user_id=entry["author"],
            playbook=entry["kind"],
            kind=entry["kind"],
            type=entry.get("type"),
            method=entry.get("method"),
            result=entry.get("result"),
            words=entry.get("words"),
            due_on=now.astimezone(tz).date() + timedelta(days=due) if due is not None else None,
            created_at=when,
        )
        if entry.get("run"):  # recorded in a finished playbook run, as the bot records it
            run = PlaybookRun(
                team_id=team.id,
                customer_id=outcome.customer_id,
                user_id=outcome.user_id,
                playbook=outcome.playbook,
                status="done",
                step="done",
                outcome=outcome.result,
                started_at=when - timedelta(minutes=6),
                updated_at=when,
                ended_at=when,
            )
            session.add(run)
            await session.flush()
            outcome.run_id = run.id
        session.add(outcome)
        if outcome.run_id is not None:
            await practice.propose_from_outcome(session, outcome)
    for entry in spec.get("care_log", []):
        customer = await session.get(Customer, ids[entry["customer"]])
        assert customer is not None
        when = datetime.combine(yesterday, time(10), tzinfo=tz).astimezone(UTC)
        session.add(
            OutboxMessage(
                key=f"{customer.id}:{entry['occasion']}:{yesterday.isoformat()}",
                team_id=team.id,
                customer_id=customer.id,
                rep_id=customer.owner_id,
                occasion=entry["occasion"],
                day=yesterday,
                channel="telegram",
                chat_id=customer.telegram_chat_id or customer.owner_id,
                text="",
                status=entry["status"],
                reason=entry.get("reason"),
                due_at=when,
                sent_at=when if entry["status"] == "sent" else None,
                created_at=when,
                updated_at=when,
            )
        )


async def _practice(
    session: AsyncSession, spec: dict[str, Any], team: Team, drills: Drills, *, now: datetime
) -> None:
    """Yesterday evening's practice: each drill answered right, or with its first part wrong."""
    assert team.id is not None
    tz = ZoneInfo(team.timezone)
    yesterday = now.astimezone(tz).date() - timedelta(days=1)
    for entry in spec.get("practice", []):
        actor = Actor(entry["author"], Role.REP, team.id)
        start = datetime.combine(yesterday, time(entry["hour"]), tzinfo=tz).astimezone(UTC)
        for place, drill_id in enumerate(entry["drills"]):
            drill = drills.get(drill_id)
            if drill is None:
                raise ValueError(f"demo.toml: no drill {drill_id!r} in drills/")
            answers = dict(expected(drill))
            if drill_id in entry.get("wrong", ()):
                answers.pop(next(iter(answers)))  # a part not answered counts as wrong
            graded = grade(drill, answers)
            await practice.record_answer(
                session,
                actor,
                drill,
                graded.rating,
                correct=graded.correct,
                total=graded.total,
                now=start + timedelta(minutes=2 * place),
            )


async def rep_invite(session: AsyncSession, *, team_id: int, now: datetime) -> str:
    """A fresh rep invite for the demo team, as its lead would create it."""
    lead = (
        await session.exec(
            select(Membership).where(col(Membership.team_id) == team_id, col(Membership.role) == "lead")
        )
    ).first()
    assert lead is not None
    actor = Actor(lead.user_id, Role.LEAD, team_id)
    return await team_service.create_invite(
        session, actor, kind="rep", team_id=team_id, now=now, ttl=timedelta(days=3)
    )
