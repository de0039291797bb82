"""Users, teams, roles and invitations."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy import select as sql_select  # more columns than sqlmodel's select types
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import deeplinks
from bot.domain.access import Actor, Role, can_manage_team
from bot.domain.errors import InvalidInput, NotAllowed, NotFound, Stale
from bot.scheduling import outbox
from bot.services import flows as flow_store
from bot.storage.models import (
    Customer,
    FlowState,
    Invite,
    Membership,
    Note,
    PlaybookRun,
    Task,
    Team,
    User,
)


def new_code(length: int = 16) -> str:
    """A random code safe for a Telegram deep link."""
    return secrets.token_urlsafe(length)[:length].replace("-", "x").replace("_", "y")


async def identify(
    session: AsyncSession,
    *,
    telegram_id: int,
    name: str,
    username: str | None,
    language: str,
    admin_ids: Sequence[int],
) -> tuple[Actor, FlowState | None]:
    """Who a Telegram user is to the bot, and their form in progress.

    Their row is created on first contact and their name kept current. One query for
    staff (the hot path), two for everyone else.
    """
    # Plain columns, not ORM entities: this runs for every update.
    row = (
        await session.exec(  # type: ignore[call-overload]  # sqlmodel types at most 4 columns
            sql_select(
                col(User.name),
                col(User.username),
                col(User.language),
                col(User.is_admin),
                col(Membership.role),
                col(Membership.team_id),
                col(FlowState.id),
                col(FlowState.flow),
                col(FlowState.step),
                col(FlowState.data),
                col(FlowState.nonce),
                col(FlowState.updated_at),
            )
            .join(
                Membership,
                (col(Membership.user_id) == col(User.telegram_id)) & col(Membership.active),
                isouter=True,
            )
            .join(FlowState, col(FlowState.user_id) == col(User.telegram_id), isouter=True)
            .where(col(User.telegram_id) == telegram_id)
        )
    ).first()
    if row is None:
        session.add(User(telegram_id=telegram_id, name=name[:200], username=username, language=language))
        await session.flush()
        user_language, user_is_admin, role, team_id, flow = language, False, None, None, None
    else:
        (known_name, known_username, user_language, user_is_admin, role, team_id, *state) = row
        if known_name != name[:200] or known_username != username:
            await session.exec(
                update(User)
                .where(col(User.telegram_id) == telegram_id)
                .values(name=name[:200], username=username)
            )
        flow = None
        if state[0] is not None:
            flow = FlowState(
                id=state[0],
                user_id=telegram_id,
                flow=state[1],
                step=state[2],
                data=state[3],
                nonce=state[4],
                updated_at=state[5],
            )
    is_admin = telegram_id in admin_ids or bool(user_is_admin)
    if role is not None:
        return Actor(telegram_id, Role(role), team_id, is_admin, user_language), flow
    if is_admin:
        return Actor(telegram_id, Role.ADMIN, None, True, user_language), flow
    customer = (
        await session.exec(
            select(Customer.id).where(
                col(Customer.telegram_chat_id) == telegram_id, col(Customer.archived_at).is_(None)
            )
        )
    ).first()
    other = Role.CUSTOMER if customer is not None else Role.STRANGER
    return Actor(telegram_id, other, None, False, user_language), None


async def resolve_actor(session: AsyncSession, *, user_id: int, admin_ids: Sequence[int]) -> Actor:
    """Who a known user is now (after their role or language changed)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    actor, _ = await identify(
        session,
        telegram_id=user_id,
        name=user.name,
        username=user.username,
        language=user.language,
        admin_ids=admin_ids,
    )
    return actor


async def set_language(session: AsyncSession, *, user_id: int, language: str) -> None:
    """Remember the language a user picked with /language."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    user.language, user.language_chosen = language, True
    session.add(user)


async def change_language(
    session: AsyncSession, *, user_id: int, language: str, admin_ids: Sequence[int]
) -> Actor:
    """Switch a user's language; who they are now, in it."""
    await set_language(session, user_id=user_id, language=language)
    return await resolve_actor(session, user_id=user_id, admin_ids=admin_ids)


async def staff(session: AsyncSession, *, admin_ids: Sequence[int]) -> list[tuple[int, str]]:
    """Every admin, lead and rep (user id, language): who the chat's Mini App button is for."""
    member = select(Membership.user_id).where(col(Membership.active))
    rows = await session.exec(
        select(User.telegram_id, User.language)
        .where(
            col(User.telegram_id).in_(member)
            | col(User.is_admin)
            | col(User.telegram_id).in_(list(admin_ids))
        )
        .order_by(col(User.telegram_id))
    )
    return [(user_id, language) for user_id, language in rows.all()]


async def has_admin(session: AsyncSession) -> bool:
    """Whether anyone has claimed admin rights yet."""
    found = (await session.exec(select(User.telegram_id).where(col(User.is_admin)))).first()
    return found is not None


async def create_team(session: AsyncSession, actor: Actor, *, name: str, timezone: str) -> Team:
    """An admin creates a team."""
    if not actor.is_admin:
        raise NotAllowed()
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("error.empty")
    if len(clean) > 100:
        raise InvalidInput("error.too_long", limit=100, length=len(clean))
    team = Team(name=clean, timezone=timezone)
    session.add(team)
    await session.flush()
    return team


async def create_invite(
    session: AsyncSession,
    actor: Actor | None,
    *,
    kind: str,
    team_id: int | None,
    now: datetime,
    ttl: timedelta,
) -> str:
    """A single-use, expiring deep-link payload; only admins invite leads, leads invite reps."""
    if kind == "lead" and (actor is None or not actor.is_admin):
        raise NotAllowed()
    if kind == "rep" and (actor is None or team_id is None or not can_manage_team(actor, team_id)):
        raise NotAllowed()
    if kind in ("lead", "rep") and (team_id is None or await session.get(Team, team_id) is None):
        raise NotFound()
    code = deeplinks.invite_payload(kind, new_code(20))
    session.add(
        Invite(
            code=code,
            kind=kind,
            team_id=team_id,
            created_by=actor.user_id if actor else None,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return code


@dataclass(frozen=True)
class Joined:
    """What accepting an invite did."""

    kind: str
    team_name: str | None


async def accept_invite(session: AsyncSession, *, code: str, user_id: int, now: datetime) -> Joined:
    """Use an invite once: make the user admin, or lead/rep of the team."""
    invite = await session.get(Invite, code, with_for_update=True)
    if invite is None or invite.used_at is not None:
        raise Stale("error.invite_used")
    if invite.expires_at is not None and invite.expires_at < now:
        raise Stale("error.invite_expired")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    # Mark it used with a conditional update, so two taps cannot both use it.
    claimed = await session.exec(
        update(Invite)
        .where(col(Invite.code) == code, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=user_id)
    )
    if claimed.rowcount != 1:
        raise Stale("error.invite_used")
    if invite.kind == "admin":
        user.is_admin = True
        session.add(user)
        return Joined("admin", None)
    team = await session.get(Team, invite.team_id)
    if team is None:
        raise Stale("error.invite_used")
    current = (
        await session.exec(
            select(Membership).where(col(Membership.user_id) == user_id, col(Membership.active))
        )
    ).first()
    if current is not None and current.team_id != team.id:
        other = await session.get(Team, current.team_id)
        raise InvalidInput("error.already_in_team", team=other.name if other else "")
    if current is not None:
        # Same team: a rep promoted to lead keeps their history.
        if invite.kind == "lead":
            current.role = "lead"
            session.add(current)
        return Joined(invite.kind, team.name)
    assert team.id is not None
    session.add(Membership(user_id=user_id, team_id=team.id, role=invite.kind, joined_at=now))
    return Joined(invite.kind, team.name)


@dataclass(frozen=True)
class Welcome:
    """What accepting an invite did, and who the user is now."""

    joined: Joined
    actor: Actor


async def join(
    session: AsyncSession, *, code: str, user_id: int, now: datetime, admin_ids: Sequence[int]
) -> Welcome:
    """Accept an invite (join a team, or claim admin rights) and read the user's new role."""
    joined = await accept_invite(session, code=code, user_id=user_id, now=now)
    return Welcome(joined, await resolve_actor(session, user_id=user_id, admin_ids=admin_ids))


@dataclass(frozen=True)
class MemberRow:
    """A member of a team with their customer count."""

    user_id: int
    name: str
    role: str
    customers: int


async def team_members(session: AsyncSession, actor: Actor, *, team_id: int) -> list[MemberRow]:
    """The team's active members, leads first, with how many customers each owns."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    counts = (
        select(Customer.owner_id, func.count().label("n"))
        .where(col(Customer.team_id) == team_id, col(Customer.archived_at).is_(None))
        .group_by(col(Customer.owner_id))
        .subquery()
    )
    rows = await session.exec(
        select(User.telegram_id, User.name, Membership.role, counts.c.n)
        .join(Membership, col(Membership.user_id) == col(User.telegram_id))
        .join(counts, counts.c.owner_id == col(User.telegram_id), isouter=True)
        .where(col(Membership.team_id) == team_id, col(Membership.active))
        .order_by(col(Membership.role), col(User.name))
    )
    return [MemberRow(uid, name, role, n or 0) for uid, name, role, n in rows]


async def teams(session: AsyncSession, actor: Actor) -> list[Team]:
    """Teams an admin sees (all), or the actor's own team."""
    if actor.is_admin:
        return list((await session.exec(select(Team).order_by(col(Team.name)))).all())
    if actor.team_id is None:
        return []
    team = await session.get(Team, actor.team_id)
    return [team] if team else []


async def team_name(session: AsyncSession, team_id: int) -> str | None:
    """A team's name (for the menu of its members), or None when it is gone."""
    team = await session.get(Team, team_id)
    return team.name if team else None


@dataclass(frozen=True)
class TeamView:
    """A team as its lead sees it: its name and its active members."""

    name: str
    members: list[MemberRow]


async def team_view(session: AsyncSession, actor: Actor, *, team_id: int) -> TeamView:
    """A team the actor manages, with its members and their customer counts."""
    team = await get_team(session, actor, team_id)
    return TeamView(team.name, await team_members(session, actor, team_id=team_id))


@dataclass(frozen=True)
class NewTeam:
    """A team just created, and the invite for its lead."""

    team_id: int
    name: str
    lead_invite: str


async def open_team(
    session: AsyncSession, actor: Actor, *, name: str, timezone: str, now: datetime, ttl: timedelta
) -> NewTeam:
    """An admin creates a team together with the single-use link that makes its lead."""
    team = await create_team(session, actor, name=name, timezone=timezone)
    assert team.id is not None
    code = await create_invite(session, actor, kind="lead", team_id=team.id, now=now, ttl=ttl)
    return NewTeam(team.id, team.name, code)


async def get_team(session: AsyncSession, actor: Actor, team_id: int) -> Team:
    """A team the actor may manage."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    return team


@dataclass(frozen=True)
class Reassigned:
    """What a reassignment did."""

    count: int
    source: str
    target: str


async def reassign_customers(
    session: AsyncSession,
    actor: Actor,
    *,
    team_id: int,
    from_user: int,
    to_user: int,
    now: datetime,
) -> Reassigned:
    """Move all of one member's customers and open tasks to another; notes stay."""
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    if from_user == to_user:
        raise InvalidInput("error.same_member")
    names = {
        user.telegram_id: user.name
        for user in (
            await session.exec(
                select(User)
                .join(Membership, col(Membership.user_id) == col(User.telegram_id))
                .where(
                    col(Membership.team_id) == team_id,
                    col(Membership.active),
                    col(Membership.user_id).in_([from_user, to_user]),
                )
            )
        ).all()
    }
    if from_user not in names or to_user not in names:
        raise Stale()
    ids = list(
        (
            await session.exec(
                select(Customer.id).where(
                    col(Customer.team_id) == team_id, col(Customer.owner_id) == from_user
                )
            )
        ).all()
    )
    result = Reassigned(len(ids), names[from_user], names[to_user])
    if not ids:
        return result
    await outbox.hand_over(session, team_id=team_id, from_user=from_user, to_user=to_user, now=now)
    await session.exec(
        update(Customer)
        .where(col(Customer.team_id) == team_id, col(Customer.owner_id) == from_user)
        .values(owner_id=to_user, updated_at=now)
    )
    await session.exec(
        update(Task)
        .where(
            col(Task.team_id) == team_id,
            col(Task.owner_id) == from_user,
            col(Task.done_at).is_(None),
        )
        .values(owner_id=to_user)
    )
    # The old owner's playbook runs about these customers end; the new owner starts afresh.
    await session.exec(
        update(PlaybookRun)
        .where(
            col(PlaybookRun.team_id) == team_id,
            col(PlaybookRun.user_id) == from_user,
            col(PlaybookRun.status) == "active",
        )
        .values(status="abandoned", ended_at=now, updated_at=now)
    )
    meta = {"event": "reassign", "old": result.source, "new": result.target}
    session.add_all(
        Note(
            customer_id=cid,
            team_id=team_id,
            author_id=actor.user_id,
            kind="system",
            meta=meta,
            created_at=now,
        )
        for cid in ids
        if cid is not None
    )
    return result


async def remove_member(
    session: AsyncSession, actor: Actor, *, team_id: int, user_id: int, now: datetime
) -> User:
    """Take a member out of the team (their customers must have been reassigned first).

    Only an admin removes a lead; a lead removes reps. Their open form and playbook runs end.
    """
    if not can_manage_team(actor, team_id):
        raise NotAllowed()
    if user_id == actor.user_id:
        raise InvalidInput("error.cannot_remove_self")
    owned = (
        await session.exec(
            select(func.count()).where(
                col(Customer.team_id) == team_id,
                col(Customer.owner_id) == user_id,
                col(Customer.archived_at).is_(None),
            )
        )
    ).one()
    if owned:
        raise InvalidInput("error.reassign_first", count=owned)
    membership = (
        await session.exec(
            select(Membership).where(
                col(Membership.team_id) == team_id,
                col(Membership.user_id) == user_id,
                col(Membership.active),
            )
        )
    ).first()
    if membership is None:
        raise Stale()
    if membership.role == "lead" and not actor.is_admin:
        raise NotAllowed()
    membership.active, membership.left_at = False, now
    session.add(membership)
    # What they had half done was the team's work: a form they had open is dropped (it must
    # not come back in another team they join), and their playbook runs end.
    await flow_store.clear_flow(session, user_id)
    await session.exec(
        update(PlaybookRun)
        .where(
            col(PlaybookRun.team_id) == team_id,
            col(PlaybookRun.user_id) == user_id,
            col(PlaybookRun.status) == "active",
        )
        .values(status="abandoned", ended_at=now, updated_at=now)
    )
    user = await session.get(User, user_id)
    assert user is not None
    return user
