"""SQLModel tables: the one place the schema is declared (Alembic migrations follow it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from bot.domain.search import SEARCH_TEXT_MAX


def utcnow() -> datetime:
    """Now as an aware UTC datetime (the only kind the tables accept)."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """A Telegram user the bot knows: staff (admin, lead, rep) or not yet anything."""

    __tablename__ = "users"

    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(max_length=200)
    username: str | None = Field(default=None, max_length=64)
    language: str = Field(default="zh", max_length=8)
    language_chosen: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Team(SQLModel, table=True):
    """A sales team: a lead, its reps, and the customers they own."""

    __tablename__ = "teams"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    language: str = Field(default="zh", max_length=8)
    # Team rules that later features read (grade cut-offs, contact rhythm, care rules).
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    """A user's role in a team; a user belongs to at most one team at a time."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_team_active", "team_id", "active"),
        Index("ix_memberships_user_active", "user_id", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, foreign_key="users.telegram_id")
    team_id: int = Field(foreign_key="teams.id")
    role: str = Field(max_length=8)  # "lead" | "rep"
    active: bool = True
    joined_at: datetime = Field(default_factory=utcnow)
    left_at: datetime | None = None


class Invite(SQLModel, table=True):
    """A single-use, expiring deep-link code: admin claim, lead or rep invitation."""

    __tablename__ = "invites"

    code: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "admin" | "lead" | "rep"
    team_id: int | None = Field(default=None, foreign_key="teams.id")
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    used_at: datetime | None = None
    used_by: int | None = Field(default=None, sa_type=BigInteger)


class Customer(SQLModel, table=True):
    """The customer profile card (客户资料卡)."""

    __tablename__ = "customers"
    __table_args__ = (
        # Searches read only these indexes (no table rows): a rep's own cards, a lead's team.
        Index("ix_customers_rep_search", "team_id", "owner_id", "search_text", "archived_at", "updated_at"),
        Index("ix_customers_team_search", "team_id", "search_text", "archived_at", "updated_at"),
        Index("ix_customers_team_stage", "team_id", "stage", "archived_at"),
        Index("ix_customers_team_created", "team_id", "created_at", "owner_id"),
        # Contact-rhythm figures (who is behind, A-grade customers gone quiet) read only this.
        Index(
            "ix_customers_team_rhythm",
            "team_id",
            "grade",
            "archived_at",
            "stage",
            "contact_every_days",
            "owner_id",
            "last_contact_at",
            "created_at",
        ),
        Index("ix_customers_phone", "team_id", "phone_digits"),
        # Whether anything in a team's cards changed since its digest was built.
        Index("ix_customers_team_updated", "team_id", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    owner_id: int = Field(sa_type=BigInteger, foreign_key="users.telegram_id")
    name: str = Field(max_length=100)
    nickname: str | None = Field(default=None, max_length=100)
    company: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    phone_digits: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    gender: str | None = Field(default=None, max_length=8)
    stage: str = Field(default="find", max_length=16)
    grade: str | None = Field(default=None, max_length=1)
    grade_manual: bool = False
    source_channel: str | None = Field(default=None, max_length=32)
    birthday_year: int | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    birthday_lunar: bool = False
    birthday_leap: bool = False
    q_need: int | None = None
    q_volume: int | None = None
    q_power: int | None = None
    q_credit: int | None = None
    q_authority: int | None = None
    preferred_channel: str | None = Field(default=None, max_length=16)
    contact_every_days: int | None = None
    # Care messages: the customer's own Telegram chat once they open their link.
    optin_code: str = Field(max_length=32, unique=True)
    optin_state: str = Field(default="none", max_length=12)  # none | in | out
    telegram_chat_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    timezone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The long tail of the traditional card (hobbies, taboos, fiscal year, ...).
    extra: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Lower-cased name, pinyin, company, phone digits, tags and extra values; capped so
    # that a PostgreSQL btree entry of the search indexes stays under its 2,704 bytes.
    search_text: str = Field(default="", max_length=SEARCH_TEXT_MAX)
    last_contact_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    archived_at: datetime | None = None


class Note(SQLModel, table=True):
    """One entry of a customer's timeline."""

    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_customer_created", "customer_id", "created_at"),
        # The digest counts a period's notes per author and kind from this index alone.
        Index("ix_notes_team_created", "team_id", "created_at", "author_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    team_id: int = Field(foreign_key="teams.id")
    author_id: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", max_length=5000)
    file_id: str | None = Field(default=None, max_length=200)
    file_kind: str | None = Field(default=None, max_length=16)  # photo | voice | document
    # Structured facts of system entries ({"event": "stage", "old": ..., "new": ...}),
    # rendered in the reader's language.
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Purchase(SQLModel, table=True):
    """A sale: the base of grade, loyalty and churn figures."""

    __tablename__ = "purchases"
    __table_args__ = (
        Index("ix_purchases_customer_date", "customer_id", "purchased_on"),
        Index("ix_purchases_team_day", "team_id", "purchased_on"),
        # Churn risk and grades group a team's purchases by customer from this index alone.
        Index("ix_purchases_team_customer", "team_id", "customer_id", "purchased_on", "amount"),
        Index("ix_purchases_team_created", "team_id", "created_at"),  # a built digest's freshness
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    team_id: int = Field(foreign_key="teams.id")
    purchased_on: date
    amount: Decimal = Field(sa_type=Numeric(14, 2))
    items: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class Task(SQLModel, table=True):
    """A follow-up reminder for a rep, optionally about a customer."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_due", "owner_id", "done_at", "due_on"),
        Index("ix_tasks_team_open", "team_id", "done_at", "due_on"),
        Index("ix_tasks_team_created", "team_id", "created_at"),  # a built digest's freshness
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    owner_id: int = Field(sa_type=BigInteger)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    due_on: date
    # A part of the day ("morning", "noon", "afternoon", "evening") or "HH:MM", as typed.
    time_of_day: str | None = Field(default=None, max_length=16)
    text: str = Field(max_length=1000)
    source: str = Field(default="manual", max_length=16)
    # The complaint this reminder is about (its due date): ticking it off resolves the complaint.
    outcome_id: int | None = Field(default=None, foreign_key="outcomes.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class FlowState(SQLModel, table=True):
    """Where a user is in a multi-step flow, so a restart resumes it."""

    __tablename__ = "flow_states"
    __table_args__ = (UniqueConstraint("user_id", name="uq_flow_states_user"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    nonce: str = Field(max_length=8)
    updated_at: datetime = Field(default_factory=utcnow)


class HandledUpdate(SQLModel, table=True):
    """A Telegram update whose handling committed: Telegram delivering it again applies nothing.

    Recorded in the first transaction of its handling, so the effect and the record commit
    together. Kept two days (Telegram keeps an unconfirmed update for one).
    """

    __tablename__ = "handled_updates"

    bot_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    handled_at: datetime = Field(default_factory=utcnow)


class ReceivedUpdate(SQLModel, table=True):
    """A Telegram update as it came, stored before Telegram is told it arrived.

    Whatever Telegram no longer holds is here: one not in `handled_updates` when the bot
    starts (the process died before handling it) is handled then. Deleted once handled.
    """

    __tablename__ = "received_updates"

    bot_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)


class PlaybookRun(SQLModel, table=True):
    """A rep's run of a playbook about one customer, saved at every step."""

    __tablename__ = "playbook_runs"
    __table_args__ = (
        # One active run per rep and customer; finished and abandoned runs stay as history.
        Index(
            "uq_playbook_runs_active",
            "user_id",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_playbook_runs_status_updated", "status", "updated_at"),
        Index("ix_playbook_runs_team_ended", "team_id", "status", "ended_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    user_id: int = Field(sa_type=BigInteger)
    playbook: str = Field(max_length=24)
    status: str = Field(default="active", max_length=12)  # active | done | abandoned
    step: str = Field(max_length=24)
    seq: int = 0  # changes at every step, so buttons of an earlier step read as stale
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str | None = Field(default=None, max_length=24)
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class Outcome(SQLModel, table=True):
    """What happened when a rep met an objection, tried to close, took a complaint…"""

    __tablename__ = "outcomes"
    __table_args__ = (
        Index("ix_outcomes_team_kind_type", "team_id", "kind", "type"),
        Index("ix_outcomes_customer", "customer_id", "created_at"),
        Index("ix_outcomes_team_kind_created", "team_id", "kind", "created_at"),
        Index("ix_outcomes_team_created", "team_id", "created_at"),  # a built digest's freshness
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    customer_id: int = Field(foreign_key="customers.id")
    user_id: int = Field(sa_type=BigInteger)
    run_id: int | None = Field(default=None, foreign_key="playbook_runs.id")
    playbook: str = Field(max_length=24)
    kind: str = Field(max_length=16)  # objection | closing | complaint | revisit | winback
    type: str | None = Field(default=None, max_length=24)
    method: str | None = Field(default=None, max_length=24)
    result: str | None = Field(default=None, max_length=16)
    words: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=1000)
    amount: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    score: int | None = None
    due_on: date | None = None
    resolved_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """One care message: planned, then sent, failed or skipped, each with its reason.

    `key` is unique per customer, occasion and day, so planning twice (or from two
    processes) never makes two messages. The dispatcher claims rows for a short
    lease; a row is `sending` only around the one Telegram call that sends it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        Index("ix_outbox_customer_day", "customer_id", "day"),
        Index("ix_outbox_rep_status", "rep_id", "status"),
        Index("ix_outbox_team_status_updated", "team_id", "status", "updated_at"),
        # Only digest rows have a build; tidying old builds finds the rows that name them.
        Index(
            "ix_outbox_build",
            "build_id",
            sqlite_where=text("build_id IS NOT NULL"),
            postgresql_where=text("build_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)
    team_id: int = Field(foreign_key="teams.id")
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    rep_id: int = Field(sa_type=BigInteger)  # the customer's rep when planned
    occasion: str = Field(max_length=24)
    day: date  # the occasion's day (the customer's local date)
    channel: str = Field(max_length=12)  # telegram | via_rep
    chat_id: int | None = Field(default=None, sa_type=BigInteger)  # where it goes (customer or rep)
    language: str = Field(default="zh", max_length=8)
    text: str = Field(max_length=4000)
    # review | planned | claimed | sending | handed (to the rep) | sent | failed | skipped
    status: str = Field(default="planned", max_length=12)
    reason: str | None = Field(default=None, max_length=300)
    due_at: datetime
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = None
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    sent_at: datetime | None = None
    # A daily digest's messages and chart, built ahead (see DigestBuild); the dispatcher
    # takes a digest row only once it has one.
    build_id: int | None = Field(default=None, foreign_key="digest_builds.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DigestBuild(SQLModel, table=True):
    """A daily digest built ahead: its messages and chart as they go, and what it was built from.

    One per team, reader's local day, timezone and language: every reader with the same
    four gets the same bytes. `bot.services.digest.built` decides whether it is still
    what a fresh build would give.
    """

    __tablename__ = "digest_builds"
    __table_args__ = (
        UniqueConstraint("team_id", "day", "tz", "language", name="uq_digest_builds_key"),
        Index("ix_digest_builds_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    day: date  # the reader's local today when it was built (the digest covers the day before)
    tz: str = Field(max_length=64)
    language: str = Field(max_length=8)
    # {"caption", "filename", "messages", "markup", "group_markup"}: what is sent, as sent.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    chart: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fingerprint: str = Field(max_length=64)  # the team's settings and members when built
    built_at: datetime
    valid_until: datetime  # when its figures change with time alone (midnight, a rhythm passed)


class PlanMark(SQLModel, table=True):
    """A change the care planner has not planned from yet: one customer's, or a team's.

    Written by triggers in the same transaction as the change (`bot.storage.plan_marks`
    lists which columns), and deleted by the planning pass that planned it. `scope` is
    "customer" (that customer's occasions), "team" (every customer of the team: its care
    rules or timezone changed) or "members" (the morning agendas and digests: its members,
    their timezones or its digest settings changed).
    """

    __tablename__ = "plan_marks"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int
    customer_id: int | None = None
    scope: str = Field(max_length=8)


class PlanPass(SQLModel, table=True):
    """Where the care planner is with a team: its last full pass, and a counter each pass moves.

    A pass writes a team's rows only if `seq` is still what it read before reading anything
    else, so two passes that overlap never both plan a team from what they read.
    """

    __tablename__ = "plan_passes"

    team_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    full_at: datetime  # the moment (the pass's own clock) of the last full pass
    # Every timezone the team's customers and members were in then (and since): a new local
    # day in any of them brings a new day into someone's week ahead, so a full pass.
    zones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class PracticeCard(SQLModel, table=True):
    """One rep's schedule for one drill: the fsrs card, when it is due, how it went so far.

    Made at the rep's first answer to the drill; a drill they never answered has none.
    """

    __tablename__ = "practice_cards"
    __table_args__ = (
        UniqueConstraint("user_id", "drill_id", name="uq_practice_cards_user_drill"),
        Index("ix_practice_cards_user_due", "user_id", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, foreign_key="users.telegram_id")
    drill_id: str = Field(max_length=48)  # a file drill's id, or team_<team_drills.id>
    # fsrs's Card as its to_dict() gives it (state, step, stability, difficulty, due, last review).
    card: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due: datetime
    reps: int = 0
    lapses: int = 0  # answered "again" once it had been learnt (fsrs's review state)
    last_rating: int | None = None  # 1 again, 2 hard, 3 good, 4 easy
    last_review_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PracticeReview(SQLModel, table=True):
    """One answer to a drill: what the lead's practice figures are counted from."""

    __tablename__ = "practice_reviews"
    __table_args__ = (
        # A team's period, per rep (the lead's summary, the digest).
        Index("ix_practice_reviews_team_answered", "team_id", "answered_at", "user_id"),
        Index("ix_practice_reviews_user_answered", "user_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, foreign_key="users.telegram_id")
    team_id: int | None = Field(default=None, foreign_key="teams.id")  # None: an admin outside teams
    drill_id: str = Field(max_length=48)
    topic: str = Field(max_length=16)
    covers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # as then
    rating: int  # 1 again, 2 hard, 3 good, 4 easy
    correct: int  # parts right at the first try
    total: int  # parts of the drill
    answer_text: str | None = Field(default=None, max_length=2000)  # a listening drill's typed answer
    answered_at: datetime


class TeamDrill(SQLModel, table=True):
    """An objection or closing that won on the team's floor, proposed as a drill for the team.

    Made from the winning outcome a rep recorded in a real playbook run; once the team's
    lead approves it, every member of the team gets it as drill `team_<id>`.
    """

    __tablename__ = "team_drills"
    __table_args__ = (Index("ix_team_drills_team_status", "team_id", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id")
    outcome_id: int = Field(foreign_key="outcomes.id", unique=True)
    kind: str = Field(max_length=16)  # objection | closing
    type: str | None = Field(default=None, max_length=24)  # the objection type
    method: str = Field(max_length=24)
    words: str | None = Field(default=None, max_length=2000)  # the customer's own words
    # The buying signals the rep ticked in the run (closing), by option id.
    signals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    proposed_by: int = Field(sa_type=BigInteger)  # the rep who recorded it
    status: str = Field(default="proposed", max_length=12)  # proposed | approved | rejected
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PracticeReminder(SQLModel, table=True):
    """A rep's daily practice reminder: the local time they chose (no row: no reminder)."""

    __tablename__ = "practice_reminders"

    user_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("users.telegram_id"), primary_key=True, autoincrement=False)
    )
    at: str = Field(max_length=5)  # "HH:MM" in the rep's timezone
    updated_at: datetime = Field(default_factory=utcnow)
