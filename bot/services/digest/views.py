"""What a reader is shown: a team's whole digest (`build`), and the use cases the digest's
handlers call, each behind one permission check (`team_view`): a team's digest or report, a
page of one of its lists, the team's members, one member's day.

Leads see their own team's digest, admins every team's; anyone else is refused. A digest
is written in the reader's timezone, else the team's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics, money
from bot.domain.access import Actor, Role, can_manage_team
from bot.domain.care import zone
from bot.domain.errors import NotAllowed, NotFound
from bot.services import outcome_stats
from bot.services import practice as practice_service
from bot.services.digest import figures, lists
from bot.services.digest.model import CHART_DAYS, LIST_MAX, Digest, Listing, Period, period_for
from bot.storage.models import Team, User

LISTS = ("overdue", "complaints", "at_risk", "quiet_a")  # the digest's lists, as `list_page` names them


def check_team(actor: Actor, team_id: int) -> None:
    """Leads see their own team's digest, admins every team's."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()


async def lead_zone(session: AsyncSession, team: Team, user_id: int | None) -> str:
    """The timezone a digest is written in: the reader's own, else the team's."""
    user = await session.get(User, user_id) if user_id is not None else None
    return zone(user.timezone if user else None, team.timezone).key


@dataclass(frozen=True)
class TeamView:
    """A team as one reader sees its digest: in their timezone, on their today, in its currency."""

    team: Team
    tz: str
    today: date
    currency: str

    @property
    def team_id(self) -> int:
        """The team's id."""
        assert self.team.id is not None
        return self.team.id


async def reader_view(session: AsyncSession, *, team_id: int, reader: int | None, now: datetime) -> TeamView:
    """The team as `reader` sees it (the team's own timezone when None), with no permission check."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotAllowed()
    tz = await lead_zone(session, team, reader)
    return TeamView(team, tz, period_for("week", now=now, tz=tz).last, money.currency_of(team.settings))


async def team_view(session: AsyncSession, actor: Actor, *, team_id: int, now: datetime) -> TeamView:
    """The team whose digest the actor opens: a lead their own, an admin any; others are refused."""
    check_team(actor, team_id)
    return await reader_view(session, team_id=team_id, reader=actor.user_id, now=now)


async def build(
    session: AsyncSession, *, team_id: int, kind: str, now: datetime, tz: str | None = None
) -> Digest:
    """The digest (kind "day") or report ("week", "month") of a team, as of `now`."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    tz = tz or zone(None, team.timezone).key
    period = period_for(kind, now=now, tz=tz)
    today = now.astimezone(ZoneInfo(tz)).date()
    reps = await figures.activity(session, team_id=team_id, period=period)
    rhythm = analytics.rhythm_of(team.settings)
    behind = await lists.behind_by_owner(session, team_id=team_id, now=now, rhythm=rhythm)
    overdue_by_owner = await lists.overdue_by_owner(session, team_id=team_id, today=today)
    for rep in reps:
        rep.behind = behind.get(rep.user_id, 0)
        rep.overdue = overdue_by_owner.get(rep.user_id, 0)
    pipeline, moved_in = await figures.pipeline(session, team_id=team_id, period=period)
    stats = await outcome_stats.stats(
        session, Actor(0, Role.ADMIN, team_id, True), team_id=team_id, since=period.start, until=period.end
    )
    chart = Period.ending(period.last, CHART_DAYS, tz) if kind == "day" else period
    everyone = Actor(0, Role.ADMIN, team_id, True)  # the digest's reader was checked by its caller
    practice = await practice_service.team_summary(
        session, everyone, team_id, period.first, period.last, tz=tz
    )
    proposals = await practice_service.proposals(session, everyone, team_id=team_id)
    return Digest(
        team_id=team_id,
        team=team.name,
        kind=kind,
        period=period,
        today=today,
        reps=reps,
        pipeline=pipeline,
        moved_in=moved_in,
        objections=figures.objections(stats),
        closings=figures.closings(stats),
        care=await figures.care_counts(session, team_id=team_id, period=period),
        overdue=await lists.overdue(session, team_id=team_id, today=today, limit=LIST_MAX),
        complaints=await lists.complaints(session, team_id=team_id, today=today, limit=LIST_MAX),
        at_risk=await lists.at_risk(session, team=team, today=today, limit=LIST_MAX),
        quiet_a=await lists.quiet_a(session, team=team, now=now, limit=LIST_MAX),
        activity=await figures.daily_activity(session, team_id=team_id, period=chart),
        chart_period=chart,
        currency=money.currency_of(team.settings),
        behind_total=sum(behind.values()),
        care_in_doubt=await figures.care_in_doubt(session, team_id=team_id, period=period),
        practice=practice,
        proposals=len(proposals),
    )


async def reader_digest(
    session: AsyncSession, *, team_id: int, kind: str, reader: int | None, now: datetime
) -> Digest:
    """A team's digest or report as of `now`, in the reader's timezone (the team's when None)."""
    view = await reader_view(session, team_id=team_id, reader=reader, now=now)
    return await build(session, team_id=team_id, kind=kind, now=now, tz=view.tz)


async def team_digest(
    session: AsyncSession, actor: Actor, *, team_id: int, kind: str, now: datetime
) -> Digest:
    """The digest or report the actor asks for, of a team they may see, in their timezone."""
    view = await team_view(session, actor, team_id=team_id, now=now)
    return await build(session, team_id=team_id, kind=kind, now=now, tz=view.tz)


@dataclass(frozen=True)
class ListPage:
    """A page of one of the digest's lists, and the team's currency to show its amounts in."""

    name: str
    listing: Listing
    currency: str


async def list_page(
    session: AsyncSession,
    actor: Actor,
    *,
    team_id: int,
    name: str,
    offset: int,
    now: datetime,
    owner_id: int | None = None,
) -> ListPage:
    """A page of the list `name` (one of `LISTS`), as of the actor's today; only the items of
    one member of the team (`owner_id`) when given."""
    if name not in LISTS:
        raise NotAllowed()
    view = await team_view(session, actor, team_id=team_id, now=now)
    await _check_member(session, team_id, owner_id)
    return await _page(session, view, name, offset=offset, now=now, owner_id=owner_id)


async def list_pages(
    session: AsyncSession, actor: Actor, *, team_id: int, now: datetime, owner_id: int | None = None
) -> list[ListPage]:
    """The first page of each of the digest's lists, in `LISTS` order (one member's when given)."""
    view = await team_view(session, actor, team_id=team_id, now=now)
    await _check_member(session, team_id, owner_id)
    return [await _page(session, view, name, offset=0, now=now, owner_id=owner_id) for name in LISTS]


async def _check_member(session: AsyncSession, team_id: int, owner_id: int | None) -> None:
    """A list narrowed to one person must name a member of the team."""
    if owner_id is not None and owner_id not in {
        uid for uid, _, _ in await figures.members(session, team_id)
    }:
        raise NotAllowed()


async def _page(
    session: AsyncSession, view: TeamView, name: str, *, offset: int, now: datetime, owner_id: int | None
) -> ListPage:
    team_id, today = view.team_id, view.today
    if name == "overdue":
        found = await lists.overdue(session, team_id=team_id, today=today, offset=offset, owner_id=owner_id)
    elif name == "complaints":
        found = await lists.complaints(
            session, team_id=team_id, today=today, offset=offset, owner_id=owner_id
        )
    elif name == "at_risk":
        found = await lists.at_risk(session, team=view.team, today=today, offset=offset, owner_id=owner_id)
    else:
        found = await lists.quiet_a(session, team=view.team, now=now, offset=offset, owner_id=owner_id)
    return ListPage(name, found, view.currency)


async def team_members(session: AsyncSession, actor: Actor, *, team_id: int) -> list[tuple[int, str, str]]:
    """The members of a team the actor may see: (user id, name, role), leads first."""
    check_team(actor, team_id)
    return await figures.members(session, team_id)


@dataclass(frozen=True)
class RepDay:
    """What one member wrote on a day: their name and a page of their notes."""

    name: str
    listing: Listing


async def rep_day_page(
    session: AsyncSession, actor: Actor, *, team_id: int, user_id: int, day: date, offset: int, now: datetime
) -> RepDay:
    """A page of what a member of the team wrote on a day (in the actor's timezone)."""
    view = await team_view(session, actor, team_id=team_id, now=now)
    people = {uid: name for uid, name, _ in await figures.members(session, team_id)}
    if user_id not in people:
        raise NotAllowed()
    period = Period(day, day, view.tz)
    found = await figures.rep_day(session, team_id=team_id, user_id=user_id, period=period, offset=offset)
    return RepDay(people[user_id], found)
