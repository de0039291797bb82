"""Practice mode's use cases, below Telegram: what to practise next, answers into each rep's
schedule, drills from the team's own floor, the lead's view, the daily reminder's time.

- `next_drills`: the drills a rep is given now: those due in their schedule first (oldest
  due first), then drills they never answered, in an order that is stable for the rep and
  moves across topics and kinds; optionally one topic only. Drills from the team's floor
  (`FloorDrill`, id `team_<n>`) approved for the rep's team are in the pool too, and new
  ones come before new file drills. Retired drills are never given.
- `record_answer`: an answer (graded with `bot.practice.grading`) moves the rep's fsrs card
  for the drill (made at the first answer) and is stored as a review; returns when it is due.
- `propose_from_outcome`: a winning objection or closing recorded in a real playbook run
  becomes a proposal for the team's lead (called by `bot.services.playbooks.finish_run`).
  `proposals` lists them for the lead; `decide` approves or rejects one.
- `team_summary`: for the lead, per rep over a period: drills practised, reviews, share right,
  the weakest techniques, and beside each the rep's real results from the /stats figures.
- `set_reminder` / `reminder`: the rep's daily practice reminder time ("HH:MM", local), or none;
  the care planner plans it as outbox rows, and `reminder_due` decides, as one goes, whether
  it has anything to say.

Every function takes an AsyncSession and the acting user; the caller owns the transaction.
Times are timezone-aware; `now` is passed in (the runtime's clock).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler, State
from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.access import Actor, Role, can_manage_team
from bot.domain.care import CareRules, is_quiet, out_of_quiet, zone
from bot.domain.errors import InvalidInput, NotAllowed, NotFound, Stale
from bot.playbooks.engine import WINNING
from bot.practice.check import Drills
from bot.practice.grading import Grade
from bot.practice.model import (
    CLOSING_METHODS,
    FLOOR_PREFIX,
    KINDS,
    OBJECTION_METHODS,
    OBJECTION_TYPES,
    SIGNALS,
    TOPICS,
    Drill,
    FloorDrill,
)
from bot.services import flows as flow_store
from bot.services import outcome_stats
from bot.services.digest.model import Period
from bot.storage.models import (
    Customer,
    FlowState,
    Membership,
    OutboxMessage,
    Outcome,
    PracticeCard,
    PracticeReminder,
    PracticeReview,
    Team,
    TeamDrill,
    User,
)

# "Again" comes back in 10 minutes, "hard" in 15 while a drill is new; a first "good" moves it
# to days. (fsrs's default learning steps, 1 and 10 minutes, would bring a drill answered
# right back within the same five minutes of practice.) Fuzzing spreads the due days a little.
SCHEDULER = Scheduler(learning_steps=(timedelta(minutes=10),), relearning_steps=(timedelta(minutes=10),))
NEXT_LIMIT = 5
SESSION_FLOW = "practice"  # a practice session in the chat is kept as this flow

PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
FLOOR_KINDS = ("objection", "closing")
FLOOR_OPTIONS = 3  # a closing from the floor offers its method and two others

# A technique is among a rep's weakest once it has this many reviews in the period, and at
# most this many are named, lowest share right first (only those not all right).
WEAK_MIN_REVIEWS = 3
WEAKEST_MAX = 3

REMINDER_TIME = re.compile(r"(\d{1,2})[:：.](\d{2})")


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise NotAllowed()


def _stable(*parts: object) -> int:
    """A number from its parts that is the same in every process (unlike hash())."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# ---------------------------------------------------------------- the drills a rep gets


def floor_drill(row: TeamDrill, *, proposer: str, recorded_at: datetime) -> FloorDrill:
    """A team drill as a drill: its id `team_<n>`, what it covers, a closing's options."""
    assert row.id is not None
    if row.kind == "objection":
        assert row.type is not None
        covers: tuple[str, ...] = (f"objection.type.{row.type}", f"objection.method.{row.method}")
        options: tuple[str, ...] = ()
    else:
        covers = (f"closing.method.{row.method}", *(f"closing.signal.{signal}" for signal in row.signals))
        others = sorted((m for m in CLOSING_METHODS if m != row.method), key=lambda m: _stable(row.id, m))
        options = tuple(
            sorted((row.method, *others[: FLOOR_OPTIONS - 1]), key=lambda m: _stable(row.id, "order", m))
        )
    return FloorDrill(
        id=f"{FLOOR_PREFIX}{row.id}",
        kind=row.kind,
        covers=covers,
        team_drill_id=row.id,
        type=row.type,
        method=row.method,
        words=row.words,
        signals=tuple(row.signals),
        options=options,
        proposed_by=row.proposed_by,
        proposer=proposer,
        recorded_at=recorded_at,
    )


async def floor_drills(session: AsyncSession, team_id: int) -> list[FloorDrill]:
    """The drills from a team's floor its lead approved, oldest first."""
    rows = await session.exec(
        select(TeamDrill, User.name, Outcome.created_at)
        .join(User, col(User.telegram_id) == col(TeamDrill.proposed_by), isouter=True)
        .join(Outcome, col(Outcome.id) == col(TeamDrill.outcome_id))
        .where(col(TeamDrill.team_id) == team_id, col(TeamDrill.status) == APPROVED)
        .order_by(col(TeamDrill.id))
    )
    return [floor_drill(row, proposer=name or "", recorded_at=at) for row, name, at in rows]


async def pool(
    session: AsyncSession, actor: Actor, drills: Drills, *, topic: str | None = None
) -> list[Drill]:
    """Every drill the actor may be given: the active file drills and their team's floor drills."""
    found: list[Drill] = [
        *(await floor_drills(session, actor.team_id) if actor.team_id else []),
        *drills.active(),
    ]
    return [drill for drill in found if topic is None or drill.topic == topic]


async def next_drills(
    session: AsyncSession,
    actor: Actor,
    drills: Drills,
    *,
    topic: str | None = None,
    now: datetime,
    limit: int = NEXT_LIMIT,
) -> list[Drill]:
    """The next drills for the actor: due ones first (oldest due first), then new ones.

    New drills come in a fixed order per rep that moves across topics and, within a topic,
    across kinds (floor drills first); `topic` keeps to one topic (`TOPICS`).
    """
    _staff(actor)
    if topic is not None and topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    available = {drill.id: drill for drill in await pool(session, actor, drills, topic=topic)}
    cards = (
        await session.exec(
            select(PracticeCard.drill_id, PracticeCard.due)
            .where(col(PracticeCard.user_id) == actor.user_id)
            .order_by(col(PracticeCard.due), col(PracticeCard.id))
        )
    ).all()
    seen = {drill_id for drill_id, _ in cards}
    due = [available[drill_id] for drill_id, at in cards if at <= now and drill_id in available]
    new = [drill for drill in _varied(actor.user_id, available.values()) if drill.id not in seen]
    return [*due, *new][:limit]


def _varied(user_id: int, drills: Iterable[Drill]) -> list[Drill]:
    """Floor drills first (oldest first), then file drills taking turns across topics and kinds.

    Within one topic and kind the order is a fixed shuffle per rep, so two reps do not meet
    the drills in the same order, and a rep's order does not change between sessions.
    """
    floor = [drill for drill in drills if isinstance(drill, FloorDrill)]
    grouped: dict[str, dict[str, list[Drill]]] = defaultdict(lambda: defaultdict(list))
    for drill in drills:
        if not isinstance(drill, FloorDrill):
            grouped[drill.topic][drill.kind].append(drill)
    per_topic = []
    for topic in TOPICS:
        kinds = grouped.get(topic, {})
        shuffled = [
            sorted(kinds[kind], key=lambda d: _stable(user_id, d.id)) for kind in KINDS if kind in kinds
        ]
        per_topic.append(_take_turns(shuffled))
    return [*floor, *_take_turns(per_topic)]


def _take_turns(lists: Sequence[list[Drill]]) -> list[Drill]:
    """One from each list in turn until all are used."""
    out: list[Drill] = []
    for place in range(max((len(items) for items in lists), default=0)):
        out += [items[place] for items in lists if place < len(items)]
    return out


@dataclass(frozen=True)
class Overview:
    """What the practice screen shows a member: how much waits, per topic, their reminder."""

    due: int  # drills due again now
    new: int  # drills never answered
    topics: dict[str, int]  # every drill they may be given, per topic (`TOPICS` order)
    reminder: str | None  # their daily reminder ("HH:MM"), or None
    proposals: int  # floor drills waiting for their approval (a lead's), else 0


async def overview(session: AsyncSession, actor: Actor, drills: Drills, *, now: datetime) -> Overview:
    """How many drills are due and new for the actor, per topic, and what waits for them."""
    _staff(actor)
    everything = await pool(session, actor, drills)
    cards = (
        await session.exec(
            select(PracticeCard.drill_id, PracticeCard.due).where(col(PracticeCard.user_id) == actor.user_id)
        )
    ).all()
    ids = {drill.id for drill in everything}
    known = {drill_id for drill_id, _ in cards}
    waiting = 0
    if actor.is_lead and actor.team_id is not None:
        waiting = len(await proposals(session, actor, team_id=actor.team_id))
    return Overview(
        due=sum(1 for drill_id, due in cards if drill_id in ids and _aware(due) <= now),
        new=sum(1 for drill in everything if drill.id not in known),
        topics={topic: sum(1 for drill in everything if drill.topic == topic) for topic in TOPICS},
        reminder=await reminder(session, actor),
        proposals=waiting,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- answers and the schedule


async def record_answer(
    session: AsyncSession,
    actor: Actor,
    drill: Drill,
    rating: Rating,
    *,
    correct: int,
    total: int,
    answer_text: str | None = None,
    now: datetime,
) -> datetime:
    """Store an answer and move the actor's schedule for the drill; returns when it is due next.

    `rating`, `correct` and `total` come from `bot.practice.grading.grade`; `answer_text` is
    what the rep typed (a listening drill). The first answer to a drill makes its card.
    """
    _staff(actor)
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(f"{correct} right out of {total} parts")
    row = (
        await session.exec(
            select(PracticeCard)
            .where(col(PracticeCard.user_id) == actor.user_id, col(PracticeCard.drill_id) == drill.id)
            .with_for_update()
        )
    ).first()
    at = now.astimezone(UTC)  # fsrs takes UTC only
    if row is None:
        row = PracticeCard(user_id=actor.user_id, drill_id=drill.id, due=at, created_at=at)
        card = Card(card_id=0, due=at)  # an explicit id: fsrs would otherwise sleep a millisecond
    else:
        card = Card.from_dict(row.card)  # type: ignore[arg-type]  # fsrs types its own dict
    lapsed = card.state is State.Review and rating is Rating.Again
    card, _ = SCHEDULER.review_card(card, rating, at)
    row.card = dict(card.to_dict())
    row.due = card.due
    row.reps += 1
    row.lapses += int(lapsed)
    row.last_rating, row.last_review_at = int(rating), at
    session.add(row)
    session.add(
        PracticeReview(
            user_id=actor.user_id,
            team_id=actor.team_id,
            drill_id=drill.id,
            topic=drill.topic,
            covers=list(drill.covers),
            rating=int(rating),
            correct=correct,
            total=total,
            answer_text=answer_text[:2000] if answer_text else None,
            answered_at=at,
        )
    )
    return card.due


async def answer_in_session(
    session: AsyncSession,
    actor: Actor,
    drill: Drill,
    graded: Grade,
    *,
    answer_text: str | None,
    nonce: str,
    session_data: dict[str, Any],
    now: datetime,
) -> tuple[datetime, FlowState]:
    """Store an answer given in a practice session (flow `SESSION_FLOW`) and the session's next
    place together: only while the session is still the one at `nonce` (else `Stale`, and
    nothing is stored: a second tap, or another device). Returns when the drill is due again
    and the saved session."""
    current = (
        await session.exec(select(FlowState).where(col(FlowState.user_id) == actor.user_id).with_for_update())
    ).first()
    if current is None or current.nonce != nonce:
        raise Stale()
    due = await record_answer(
        session,
        actor,
        drill,
        graded.rating,
        correct=graded.correct,
        total=graded.total,
        answer_text=answer_text,
        now=now,
    )
    saved = await flow_store.save_flow(
        session, user_id=actor.user_id, flow=SESSION_FLOW, step="drill", data=session_data, now=now
    )
    return due, saved


# ---------------------------------------------------------------- drills from the team's floor


async def propose_from_outcome(
    session: AsyncSession, outcome: Outcome, *, signals: Sequence[str] = ()
) -> TeamDrill | None:
    """Propose a winning objection or closing from a real playbook run as a drill for the team.

    An objection qualifies when it was resolved and has the customer's words, a type and a
    method; a closing when it was won with a method and there is something to show (the
    customer's words, or the buying `signals` the rep ticked in the run). One proposal per
    outcome, and none when the same words (or signals) with the same answer are already
    proposed or approved in the team. Returns the new proposal, or None.
    """
    if outcome.run_id is None or outcome.result not in WINNING or outcome.method is None:
        return None
    words = (outcome.words or "").strip() or None
    ticked = sorted({signal for signal in signals if signal in SIGNALS}, key=SIGNALS.index)
    if outcome.kind == "objection":
        if words is None or outcome.type not in OBJECTION_TYPES or outcome.method not in OBJECTION_METHODS:
            return None
        ticked = []
    elif outcome.kind == "closing":
        if outcome.method not in CLOSING_METHODS or (words is None and not ticked):
            return None
    else:
        return None
    if outcome.id is None:
        await session.flush()
    if (await session.exec(select(TeamDrill.id).where(col(TeamDrill.outcome_id) == outcome.id))).first():
        return None  # proposed already, whatever the lead decided
    existing = (
        await session.exec(
            select(TeamDrill).where(
                col(TeamDrill.team_id) == outcome.team_id,
                col(TeamDrill.kind) == outcome.kind,
                col(TeamDrill.method) == outcome.method,
                col(TeamDrill.status).in_((PROPOSED, APPROVED)),
            )
        )
    ).all()
    for other in existing:
        if other.type == outcome.type and other.words == words and other.signals == ticked:
            return None
    row = TeamDrill(
        team_id=outcome.team_id,
        outcome_id=outcome.id or 0,
        kind=outcome.kind,
        type=outcome.type if outcome.kind == "objection" else None,
        method=outcome.method,
        words=words,
        signals=ticked,
        proposed_by=outcome.user_id,
        created_at=outcome.created_at,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Proposal:
    """A drill from the team's floor as the lead sees it before (or after) deciding."""

    id: int
    kind: str  # objection | closing
    type: str | None
    method: str
    words: str | None
    signals: tuple[str, ...]
    rep_id: int
    rep: str
    customer: str
    recorded_at: datetime
    status: str


async def proposals(
    session: AsyncSession, actor: Actor, *, team_id: int, status: str = PROPOSED
) -> list[Proposal]:
    """A team's drills from the floor with a status (waiting for the lead, by default), oldest first."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    return await _proposals(session, col(TeamDrill.team_id) == team_id, col(TeamDrill.status) == status)


async def _proposals(session: AsyncSession, *where: Any) -> list[Proposal]:
    rows = await session.exec(
        select(TeamDrill, User.name, Customer.name, Outcome.created_at)
        .join(Outcome, col(Outcome.id) == col(TeamDrill.outcome_id))
        .join(Customer, col(Customer.id) == col(Outcome.customer_id))
        .join(User, col(User.telegram_id) == col(TeamDrill.proposed_by), isouter=True)
        .where(*where)
        .order_by(col(TeamDrill.id))
    )
    return [_proposal(row, rep or "", customer, at) for row, rep, customer, at in rows]


def _proposal(row: TeamDrill, rep: str, customer: str, recorded_at: datetime) -> Proposal:
    assert row.id is not None
    return Proposal(
        row.id,
        row.kind,
        row.type,
        row.method,
        row.words,
        tuple(row.signals),
        row.proposed_by,
        rep,
        customer,
        recorded_at,
        row.status,
    )


async def decide(
    session: AsyncSession, actor: Actor, proposal_id: int, approve: bool, *, now: datetime
) -> Proposal:
    """The team's lead (or an admin) approves or rejects a proposal; approved, the team gets it.

    A proposal already decided (a double tap, another device) is `Stale`; nothing changes twice.
    """
    row = await session.get(TeamDrill, proposal_id)
    if row is None:
        raise NotFound()
    if not can_manage_team(actor, row.team_id):
        raise NotAllowed()
    decided = await session.exec(
        update(TeamDrill)
        .where(col(TeamDrill.id) == proposal_id, col(TeamDrill.status) == PROPOSED)
        .values(status=APPROVED if approve else REJECTED, decided_by=actor.user_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if row.status != PROPOSED or not decided.rowcount:
        raise Stale("practice.already_decided")
    await session.refresh(row)  # the update went around the session
    (decided_proposal,) = await _proposals(session, col(TeamDrill.id) == proposal_id)
    return decided_proposal


# ---------------------------------------------------------------- the lead's view


@dataclass(frozen=True)
class RealResult:
    """A rep's own recorded results (the /stats figures): wins out of tries."""

    wins: int
    tries: int


@dataclass(frozen=True)
class WeakTechnique:
    """A technique a rep gets wrong most often in practice, and how it goes on the floor."""

    technique: str  # a methodology id
    reviews: int
    correct: int
    total: int
    real: RealResult | None  # None: a technique /stats does not count (only objections and closings)

    @property
    def share_right(self) -> float:
        """Parts right out of parts answered, 0–1."""
        return self.correct / self.total


@dataclass(frozen=True)
class RepPractice:
    """One member's practice over the period."""

    user_id: int
    name: str
    role: str  # lead | rep ("" for someone no longer in the team)
    drills: int  # different drills answered
    reviews: int  # answers
    correct: int
    total: int
    weakest: tuple[WeakTechnique, ...]

    @property
    def share_right(self) -> float | None:
        """Parts right out of parts answered, 0–1 (None without answers)."""
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class TeamPractice:
    """Who practised in a team over a period (whole local days), and their weak spots."""

    team_id: int
    first: date
    last: date
    reps: tuple[RepPractice, ...]  # every rep of the team, and anyone else who practised

    @property
    def practised(self) -> tuple[RepPractice, ...]:
        """Those who answered at least one drill."""
        return tuple(rep for rep in self.reps if rep.reviews)


async def team_summary(
    session: AsyncSession, actor: Actor, team_id: int, first: date, last: date, *, tz: str | None = None
) -> TeamPractice:
    """The team's practice from `first` to `last` (local days, inclusive, in `tz` or else the
    team's timezone), for its lead.

    Per member: drills and answers, the share of parts right, and up to `WEAKEST_MAX`
    weakest techniques (lowest share right among those with at least `WEAK_MIN_REVIEWS`
    answers, leaving out those always right); beside each, the rep's real results for
    that technique as /stats counts them (wins out of tries, recorded up to the period's
    end): an objection type (and its wording) by type, an objection or closing method by
    method.
    """
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    period = Period(first, last, tz or team.timezone)
    reviews = (
        await session.exec(
            select(PracticeReview).where(
                col(PracticeReview.team_id) == team_id,
                col(PracticeReview.answered_at) >= period.start,
                col(PracticeReview.answered_at) < period.end,
            )
        )
    ).all()
    members = (
        await session.exec(
            select(User.telegram_id, User.name, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.telegram_id))
            .where(col(Membership.team_id) == team_id, col(Membership.active))
            .order_by(col(Membership.role), col(User.name))
        )
    ).all()
    people = {int(uid): (str(name), str(role)) for uid, name, role in members}
    strangers = sorted({r.user_id for r in reviews} - set(people))
    if strangers:
        names = await session.exec(
            select(User.telegram_id, User.name).where(col(User.telegram_id).in_(strangers))
        )
        people |= {int(uid): (str(name), "") for uid, name in names}
    by_rep: dict[int, list[PracticeReview]] = defaultdict(list)
    for review in reviews:
        by_rep[review.user_id].append(review)
    real = await outcome_stats.rep_results(session, team_id=team_id, until=period.end)
    rows = []
    for user_id, (name, role) in people.items():
        mine = by_rep.get(user_id, [])
        if role != Role.REP and not mine:
            continue
        rows.append(
            RepPractice(
                user_id=user_id,
                name=name,
                role=role,
                drills=len({r.drill_id for r in mine}),
                reviews=len(mine),
                correct=sum(r.correct for r in mine),
                total=sum(r.total for r in mine),
                weakest=_weakest(mine, real.get(user_id, [])),
            )
        )
    return TeamPractice(team_id, first, last, tuple(rows))


def _weakest(
    reviews: Sequence[PracticeReview], real: Sequence[outcome_stats.StatRow]
) -> tuple[WeakTechnique, ...]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for review in reviews:
        for technique in dict.fromkeys(review.covers):
            counts[technique][0] += 1
            counts[technique][1] += review.correct
            counts[technique][2] += review.total
    weak = [
        WeakTechnique(technique, n, correct, total, _real(technique, real))
        for technique, (n, correct, total) in counts.items()
        if n >= WEAK_MIN_REVIEWS and total and correct < total
    ]
    weak.sort(key=lambda w: (w.share_right, -w.reviews, w.technique))
    return tuple(weak[:WEAKEST_MAX])


def _real(technique: str, rows: Sequence[outcome_stats.StatRow]) -> RealResult | None:
    """The rep's recorded results that match a technique, or None for one /stats does not count."""
    area, group, name = [*technique.split("."), "", ""][:3]
    if area == "objection" and group in ("type", "wording"):
        matching = [r for r in rows if r.kind == "objection" and r.type == name]
    elif area in ("objection", "closing") and group == "method":
        matching = [r for r in rows if r.kind == area and r.method == name]
    else:
        return None
    return RealResult(sum(r.wins for r in matching), sum(r.tries for r in matching))


# ---------------------------------------------------------------- the daily reminder


async def set_reminder(session: AsyncSession, actor: Actor, at: str | None, *, now: datetime) -> str | None:
    """Turn the actor's daily practice reminder on at a local time ("8:30", "20：00"), or off (None).

    Returns the time as stored ("08:30"); a time that is not one is `InvalidInput`.
    """
    _staff(actor)
    row = await session.get(PracticeReminder, actor.user_id)
    if at is None:
        if row is not None:
            await session.exec(delete(PracticeReminder).where(col(PracticeReminder.user_id) == actor.user_id))
        return None
    found = REMINDER_TIME.fullmatch(at.strip())
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise InvalidInput("practice.bad_time")
    value = f"{int(found[1]):02d}:{found[2]}"
    if row is None:
        row = PracticeReminder(user_id=actor.user_id, at=value, updated_at=now)
    row.at, row.updated_at = value, now
    session.add(row)
    return value


@dataclass(frozen=True)
class Moved:
    """A reminder time inside the team's quiet hours, and when it comes instead."""

    at: str  # "HH:MM", local
    quiet_start: int
    quiet_end: int


async def reminder_moved(session: AsyncSession, actor: Actor) -> Moved | None:
    """When the actor's reminder comes if the team's quiet hours move it (else None)."""
    row = await session.get(PracticeReminder, actor.user_id)
    team = await session.get(Team, actor.team_id) if actor.team_id is not None else None
    if row is None or team is None:
        return None
    rules = CareRules.from_settings(team.settings)
    chosen = time.fromisoformat(row.at)
    comes = out_of_quiet(chosen, rules)
    if comes == chosen:
        return None
    return Moved(comes.strftime("%H:%M"), rules.quiet_start, rules.quiet_end)


async def reminder(session: AsyncSession, actor: Actor) -> str | None:
    """The actor's daily practice reminder time ("HH:MM"), or None when it is off."""
    row = await session.get(PracticeReminder, actor.user_id)
    return row.at if row else None


async def reminder_due(
    session: AsyncSession, row: OutboxMessage, drills: Drills, *, now: datetime
) -> Overview | None:
    """What a daily reminder planned as `row` has to say now, or None when it should not go:
    its member is no longer staff in that team or turned the reminder off; it is no longer
    its day, or it is quiet hours (a dispatcher that was down catching up); a reminder went
    to them already that local day; they practised that day already; or nothing is due and
    nothing is new."""
    membership = (
        await session.exec(
            select(Membership).where(
                col(Membership.user_id) == row.rep_id,
                col(Membership.team_id) == row.team_id,
                col(Membership.active),
            )
        )
    ).first()
    if membership is None or membership.role not in (Role.LEAD, Role.REP):
        return None
    if await session.get(PracticeReminder, row.rep_id) is None:
        return None
    went = (
        await session.exec(
            select(OutboxMessage.id).where(
                col(OutboxMessage.rep_id) == row.rep_id,
                col(OutboxMessage.occasion) == row.occasion,
                col(OutboxMessage.day) == row.day,
                col(OutboxMessage.id) != row.id,
                col(OutboxMessage.status).in_(("sending", "sent", "failed")),
            )
        )
    ).first()
    if went is not None:
        return None
    user, team = await session.get(User, row.rep_id), await session.get(Team, row.team_id)
    assert team is not None
    tz = zone(user.timezone if user else None, team.timezone)
    local = now.astimezone(tz)
    if local.date() != row.day or is_quiet(local.hour, CareRules.from_settings(team.settings)):
        return None  # sent late (the bot was down): not on another day, never in quiet hours
    day_start = datetime.combine(row.day, time(0), tzinfo=tz).astimezone(UTC)
    practised = (
        await session.exec(
            select(PracticeReview.id).where(
                col(PracticeReview.user_id) == row.rep_id, col(PracticeReview.answered_at) >= day_start
            )
        )
    ).first()
    if practised is not None:
        return None
    found = await overview(session, Actor(row.rep_id, Role(membership.role), row.team_id), drills, now=now)
    return found if found.due or found.new else None
