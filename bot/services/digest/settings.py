"""A team's digest and analytics settings: the hour a lead's digest comes (or that it is off),
the team group it goes to, the grade cut-offs, the churn factor and the currency; and the
settings screen (`settings_view`) as the lead sees it.

Settings live in `team.settings`; changing the hour or turning the digest off moves the
digests already planned in the outbox with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import analytics, grading, money
from bot.domain.access import Actor
from bot.domain.errors import NotAllowed, NotFound
from bot.services import customers as customer_service
from bot.services.digest.model import DIGEST
from bot.services.digest.views import check_team, lead_zone, team_view
from bot.storage.models import OutboxMessage, Team

DEFAULT_HOUR = 8
HOURS = tuple(range(6, 12))


@dataclass(frozen=True)
class Prefs:
    """A lead's digest: at what hour, whether at all, and the team group it may go to."""

    hour: int
    off: bool
    group: dict[str, Any] | None  # {"chat_id", "thread_id", "title"} when set for the team


def prefs(team: Team, user_id: int) -> Prefs:
    """The lead's digest preferences, from `team.settings["digest"]`."""
    found = team.settings.get("digest") if isinstance(team.settings, dict) else None
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    hours = raw.get("hours")
    hour = hours.get(str(user_id), DEFAULT_HOUR) if isinstance(hours, dict) else DEFAULT_HOUR
    group = raw.get("group")
    return Prefs(
        hour if isinstance(hour, int) and 0 <= hour <= 23 else DEFAULT_HOUR,
        user_id in (raw.get("off") or []),
        group if isinstance(group, dict) and isinstance(group.get("chat_id"), int) else None,
    )


def _settings(team: Team) -> dict[str, Any]:
    """A copy of the team's digest settings to change (JSON columns change by assignment)."""
    raw = team.settings.get("digest")
    out = dict(raw) if isinstance(raw, dict) else {}
    out["hours"] = dict(out.get("hours") or {})
    out["off"] = list(out.get("off") or [])
    return out


def _save(team: Team, digest_settings: dict[str, Any]) -> None:
    team.settings = {**team.settings, "digest": digest_settings}


async def _manageable(session: AsyncSession, actor: Actor, team_id: int) -> Team:
    check_team(actor, team_id)
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound()
    return team


async def set_hour(session: AsyncSession, actor: Actor, *, team_id: int, hour: int, now: datetime) -> Team:
    """The hour the actor's digest comes; a digest planned but not sent yet moves with it."""
    if hour not in HOURS:
        raise NotAllowed()
    team = await _manageable(session, actor, team_id)
    settings = _settings(team)
    settings["hours"][str(actor.user_id)] = hour
    if prefs(team, actor.user_id).group is not None:
        settings["group"] = {**settings["group"], "hour": hour}
    _save(team, settings)
    session.add(team)
    tz = ZoneInfo(await lead_zone(session, team, actor.user_id))
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion) == DIGEST,
                col(OutboxMessage.status) == "planned",
                col(OutboxMessage.rep_id) == actor.user_id,
            )
        )
    ).all()
    for row in rows:
        row.due_at = max(now, datetime.combine(row.day, time(hour), tzinfo=tz).astimezone(UTC))
        row.updated_at = now
        session.add(row)
    return team


async def set_off(session: AsyncSession, actor: Actor, *, team_id: int, off: bool, now: datetime) -> Team:
    """Turn the actor's daily digest off or on again (today's comes back if not sent)."""
    team = await _manageable(session, actor, team_id)
    settings = _settings(team)
    others = [uid for uid in settings["off"] if uid != actor.user_id]
    settings["off"] = [*others, actor.user_id] if off else others
    _save(team, settings)
    session.add(team)
    old, new = ("planned", "skipped") if off else ("skipped", "planned")
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.occasion) == DIGEST,
                col(OutboxMessage.rep_id) == actor.user_id,
                col(OutboxMessage.status) == old,
                col(OutboxMessage.day) >= now.date() - timedelta(days=1),
            )
        )
    ).all()
    for row in rows:
        if off or row.reason == "turned_off":
            row.status, row.reason, row.updated_at = new, "turned_off" if off else None, now
            session.add(row)
    return team


async def set_group(
    session: AsyncSession, actor: Actor, *, chat_id: int | None, thread_id: int | None, title: str
) -> Team:
    """Send the actor's team digest to a group (or forum topic); chat_id None sends it privately."""
    if actor.team_id is None:
        raise NotAllowed()
    team = await _manageable(session, actor, actor.team_id)
    settings = _settings(team)
    if chat_id is None:
        settings.pop("group", None)
    else:
        hour = prefs(team, actor.user_id).hour
        settings["group"] = {"chat_id": chat_id, "thread_id": thread_id, "title": title[:100], "hour": hour}
    _save(team, settings)
    session.add(team)
    return team


A_SHARES = (10, 20, 30)  # percent of paying customers graded A
AB_SHARES = (40, 50, 60)  # percent graded A or B
CHURN_FACTORS = (15, 20, 30)  # tenths: at risk after 1.5×, 2× or 3× the usual interval


@dataclass(frozen=True)
class AnalyticsRules:
    """The team's grade cut-offs and churn factor, as the settings screen shows them."""

    a_share: int  # percent
    ab_share: int  # percent
    churn: int  # tenths


def analytics_rules(team: Team) -> AnalyticsRules:
    """The team's current rules (defaults where unset)."""
    a, ab = grading.cutoffs_from(team.settings)
    return AnalyticsRules(round(a * 100), round(ab * 100), round(analytics.churn_factor(team.settings) * 10))


async def set_rule(session: AsyncSession, actor: Actor, *, team_id: int, rule: str, value: int) -> Team:
    """Change a grade cut-off (grades follow at once), the churn factor or the currency (by its index)."""
    team = await _manageable(session, actor, team_id)
    current = analytics_rules(team)
    if rule == "a" and value in A_SHARES:
        team.settings = {**team.settings, "grade_cutoffs": [value / 100, max(value, current.ab_share) / 100]}
    elif rule == "b" and value in AB_SHARES:
        team.settings = {**team.settings, "grade_cutoffs": [min(current.a_share, value) / 100, value / 100]}
    elif rule == "c" and value in CHURN_FACTORS:
        raw = team.settings.get("analytics")
        team.settings = {
            **team.settings,
            "analytics": {**(raw if isinstance(raw, dict) else {}), "churn_factor": value / 10},
        }
    elif rule == "m" and 0 <= value < len(money.CURRENCIES):
        team.settings = {**team.settings, "currency": money.CURRENCIES[value]}
    else:
        raise NotAllowed()
    session.add(team)
    if rule in ("a", "b"):
        await session.flush()
        await customer_service.recompute_grades(session, team_id)
    return team


@dataclass(frozen=True)
class SettingsView:
    """The settings screen: the actor's digest preferences, their timezone, the team's rules."""

    prefs: Prefs
    zone: str
    rules: AnalyticsRules
    currency: str


async def settings_view(session: AsyncSession, actor: Actor, *, team_id: int, now: datetime) -> SettingsView:
    """What the digest's settings screen shows the actor, for a team they may manage."""
    view = await team_view(session, actor, team_id=team_id, now=now)
    return SettingsView(prefs(view.team, actor.user_id), view.tz, analytics_rules(view.team), view.currency)
