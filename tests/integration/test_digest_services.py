"""The digest's service functions as its handlers call them: who may see a team, and each use
case (a digest, a list page, a member's day, the export, the settings, a planned digest), plus
the split modules' entry points, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import analytics
from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed
from bot.services import analytics as analytics_service
from bot.services import digest as svc
from bot.services.digest import figures, lists, outbox, reports, settings, views
from bot.storage.db import make_session_factory, transaction
from bot.storage.models import Customer, OutboxMessage, Team
from tests.integration.test_digest import AMY, BOB, CAT, LEAD, NOW, NY_LEAD, OTHER, _build

ADMIN = 900


def _actors(team_id: int, other_id: int) -> dict[str, Actor]:
    return {
        "lead": Actor(LEAD, Role.LEAD, team_id),
        "ny_lead": Actor(NY_LEAD, Role.LEAD, team_id),
        "admin": Actor(ADMIN, Role.ADMIN, None, True),
        "rep": Actor(AMY, Role.REP, team_id),
        "other_lead": Actor(OTHER, Role.LEAD, other_id),
    }


async def test_team_view_a_lead_sees_their_team_an_admin_any_a_rep_none(engine: AsyncEngine) -> None:
    team_id, other_id, _ = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        mine = await svc.team_view(session, who["lead"], team_id=team_id, now=NOW)
        assert (mine.team_id, mine.team.name, mine.tz, mine.today) == (
            team_id,
            "T",
            "Asia/Shanghai",
            date(2026, 11, 23),
        )
        ny = await svc.team_view(session, who["ny_lead"], team_id=team_id, now=NOW)
        assert (ny.tz, ny.today) == ("America/New_York", date(2026, 11, 22)), "the reader's own day"
        other = await svc.team_view(session, who["admin"], team_id=other_id, now=NOW)
        assert other.team.name == "O" and other.currency
        for actor, team in ((who["rep"], team_id), (who["lead"], other_id), (who["other_lead"], team_id)):
            with pytest.raises(NotAllowed):
                await svc.team_view(session, actor, team_id=team, now=NOW)
        with pytest.raises(NotAllowed):
            await svc.team_view(session, who["admin"], team_id=other_id + 100, now=NOW)


async def test_reader_view_without_a_reader_is_the_teams_timezone(engine: AsyncEngine) -> None:
    team_id, _, _ = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        team = await views.reader_view(session, team_id=team_id, reader=None, now=NOW)
        ny = await views.reader_view(session, team_id=team_id, reader=NY_LEAD, now=NOW)
    assert (team.tz, ny.tz) == ("Asia/Shanghai", "America/New_York")


async def test_team_digest_is_build_in_the_actors_timezone_and_checks_the_team(engine: AsyncEngine) -> None:
    team_id, other_id, _ = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        mine = await svc.team_digest(session, who["ny_lead"], team_id=team_id, kind="day", now=NOW)
        same = await svc.build(session, team_id=team_id, kind="day", now=NOW, tz="America/New_York")
        read = await svc.reader_digest(session, team_id=team_id, kind="day", reader=NY_LEAD, now=NOW)
        with pytest.raises(NotAllowed):
            await svc.team_digest(session, who["rep"], team_id=team_id, kind="day", now=NOW)
    assert mine == same == read
    assert mine.period.first == date(2026, 11, 21)


async def test_list_page_names_each_list_and_refuses_others(engine: AsyncEngine) -> None:
    team_id, other_id, ids = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        pages = {
            name: await svc.list_page(session, who["lead"], team_id=team_id, name=name, offset=0, now=NOW)
            for name in svc.LISTS
        }
        with pytest.raises(NotAllowed):
            await svc.list_page(session, who["lead"], team_id=team_id, name="secrets", offset=0, now=NOW)
        with pytest.raises(NotAllowed):
            await svc.list_page(session, who["rep"], team_id=team_id, name="overdue", offset=0, now=NOW)
        later = await svc.list_page(session, who["lead"], team_id=team_id, name="quiet_a", offset=1, now=NOW)
    assert {name: page.listing.total for name, page in pages.items()} == {
        "overdue": 1,
        "complaints": 1,
        "at_risk": 1,
        "quiet_a": 2,
    }
    assert pages["at_risk"].listing.items[0].customer_id == ids["c3"]
    assert pages["at_risk"].currency == pages["overdue"].currency
    assert [i.customer_id for i in later.listing.items] == [ids["c8"]] and later.listing.total == 2


async def test_list_pages_are_list_page_and_one_members_lists_are_theirs(engine: AsyncEngine) -> None:
    team_id, other_id, ids = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        firsts = await svc.list_pages(session, who["lead"], team_id=team_id, now=NOW)
        each = [
            await svc.list_page(session, who["lead"], team_id=team_id, name=name, offset=0, now=NOW)
            for name in svc.LISTS
        ]
        mine = {
            owner: await svc.list_pages(session, who["lead"], team_id=team_id, now=NOW, owner_id=owner)
            for owner in (AMY, BOB, CAT)
        }
        later = await svc.list_page(
            session, who["lead"], team_id=team_id, name="quiet_a", offset=1, now=NOW, owner_id=AMY
        )
        bobs_risk = await svc.list_page(
            session, who["lead"], team_id=team_id, name="at_risk", offset=5, now=NOW, owner_id=BOB
        )
        for actor, owner in ((who["lead"], OTHER), (who["rep"], None), (who["other_lead"], None)):
            with pytest.raises(NotAllowed):
                await svc.list_pages(session, actor, team_id=team_id, now=NOW, owner_id=owner)
        with pytest.raises(NotAllowed):
            await svc.list_page(
                session, who["lead"], team_id=team_id, name="overdue", offset=0, now=NOW, owner_id=OTHER
            )
    assert firsts == each
    totals = {owner: [page.listing.total for page in pages] for owner, pages in mine.items()}
    assert totals == {AMY: [1, 0, 0, 2], BOB: [0, 1, 1, 0], CAT: [0, 0, 0, 0]}
    assert [i.customer_id for i in mine[BOB][2].listing.items] == [ids["c3"]]
    assert [i.owner for page in mine[AMY] for i in page.listing.items] == ["Amy", "Amy", "Amy"]
    assert [i.customer_id for i in later.listing.items] == [ids["c8"]] and later.listing.total == 2
    assert (bobs_risk.listing.items, bobs_risk.listing.total) == ([], 1)  # past the end, still counted


async def test_members_and_a_members_day(engine: AsyncEngine) -> None:
    team_id, other_id, ids = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        people = await svc.team_members(session, who["lead"], team_id=team_id)
        with pytest.raises(NotAllowed):
            await svc.team_members(session, who["rep"], team_id=team_id)
        amy = await svc.rep_day_page(
            session, who["lead"], team_id=team_id, user_id=AMY, day=date(2026, 11, 22), offset=0, now=NOW
        )
        with pytest.raises(NotAllowed):  # not a member of the team
            await svc.rep_day_page(
                session,
                who["lead"],
                team_id=team_id,
                user_id=OTHER,
                day=date(2026, 11, 22),
                offset=0,
                now=NOW,
            )
    assert [role for _, _, role in people][:2] == ["lead", "lead"] and len(people) == 5
    assert amy.name == "Amy" and amy.listing.total == 3
    assert {i.customer_id for i in amy.listing.items} == {ids["c1"]}, "c7's note was the day before"


async def test_report_export_tables_and_settings_view(engine: AsyncEngine) -> None:
    team_id, other_id, _ = await _build(engine)
    who = _actors(team_id, other_id)
    async with transaction(make_session_factory(engine)) as session:
        export = await svc.report_export(session, who["lead"], team_id=team_id, kind="week", now=NOW)
        direct = await reports.report_tables(session, export.digest, now=NOW)
        with pytest.raises(NotAllowed):
            await svc.report_export(session, who["rep"], team_id=team_id, kind="week", now=NOW)
        shown = await svc.settings_view(session, who["ny_lead"], team_id=team_id, now=NOW)
        with pytest.raises(NotAllowed):
            await svc.settings_view(session, who["rep"], team_id=team_id, now=NOW)
    assert export.digest.kind == "week"
    assert (export.rep_columns, export.rep_rows, export.customer_columns, export.customer_rows) == direct
    assert len(export.rep_rows) == 5 and len(export.customer_rows) == 7, "archived and other teams' left out"
    assert (shown.prefs.hour, shown.prefs.off, shown.prefs.group) == (settings.DEFAULT_HOUR, False, None)
    assert shown.zone == "America/New_York"
    assert shown.rules == svc.AnalyticsRules(20, 50, 15) and shown.currency


async def test_planned_digest_goes_to_its_lead_or_the_team_group(engine: AsyncEngine) -> None:
    team_id, other_id, _ = await _build(engine)
    who = _actors(team_id, other_id)
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = await session.get(Team, team_id)
        assert team is not None
        planned = await outbox.plan_rows(session, team, now=NOW, taken=set())
    assert {row["rep_id"] for row in planned} == {LEAD, NY_LEAD}
    assert all(row["occasion"] == svc.DIGEST and row["status"] == "planned" for row in planned)

    def row(chat_id: int, rep_id: int) -> OutboxMessage:
        return OutboxMessage(
            key=f"digest:{chat_id}",
            team_id=team_id,
            rep_id=rep_id,
            occasion=svc.DIGEST,
            day=NOW.date(),
            channel="telegram",
            chat_id=chat_id,
            text="",
            status="planned",
            due_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )

    async with transaction(sessions) as session:
        private = await svc.planned_digest(session, row(NY_LEAD, NY_LEAD), now=NOW)
    assert (private.chat_id, private.in_group, private.thread_id) == (NY_LEAD, False, None)
    assert private.digest.period.first == date(2026, 11, 21), "in the lead's own timezone"
    async with transaction(sessions) as session:
        await svc.set_group(session, who["lead"], chat_id=-5, thread_id=7, title="Team T")
    async with transaction(sessions) as session:
        group = await svc.planned_digest(session, row(-5, LEAD), now=NOW)
    assert (group.chat_id, group.in_group, group.thread_id) == (-5, True, 7)
    assert group.digest.period.first == date(2026, 11, 22), "in the team's timezone"


async def test_the_split_modules_entry_points(engine: AsyncEngine) -> None:
    team_id, _, ids = await _build(engine)
    async with transaction(make_session_factory(engine)) as session:
        team = await session.get(Team, team_id)
        assert team is not None
        period = svc.period_for("day", now=NOW, tz="Asia/Shanghai")
        reps = {r.name: r for r in await figures.activity(session, team_id=team_id, period=period)}
        stages, moved = await figures.pipeline(session, team_id=team_id, period=period)
        by_owner = await lists.overdue_by_owner(session, team_id=team_id, today=date(2026, 11, 23))
        rhythm = analytics.rhythm_of(team.settings)
        behind = await lists.behind_by_owner(session, team_id=team_id, now=NOW, rhythm=rhythm)
        reference = await analytics_service.reference_revenue(session, team)
        cached = await analytics_service.cached_reference(session, team)  # what the card uses
        loyalty = await analytics_service.loyalty_of(
            session, team=team, ids=[ids["c3"]], today=NOW.date(), reference=cached
        )
        c3 = await session.get(Customer, ids["c3"])
        assert c3 is not None
        insight = await analytics_service.insight(session, c3, today=NOW.date())
    assert reps["Amy"].notes == 3 and stages["won"] == 3 and moved == {"closing": 1}
    assert by_owner == {AMY: 1} and behind == {AMY: 3, BOB: 1}
    assert reference == Decimal(3000)
    assert insight.loyalty == loyalty[ids["c3"]] and insight.risk is not None
    assert round(insight.interval or 0) == 31
