"""The card and team reads handlers render (card_view, timeline, a note's file, the team view), a
new team with its lead's invite, and a form's effect ending the form: on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.services import cards as card_service
from bot.services import customers as customer_service
from bot.services import flows as flow_store
from bot.services import team as team_service
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import Customer, Membership, Note, Purchase, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ADMIN, LEAD, AMY, BOB, CY = 1, 100, 101, 102, 103


async def _build(engine: AsyncEngine) -> tuple[SessionFactory, int, int]:
    """Team T (lead, Amy, Bob) and Amy's customer Wang with a purchase and two notes (one a photo)."""
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = Team(name="T", timezone="Asia/Shanghai")
        session.add(team)
        for uid, name in [(ADMIN, "Ada"), (LEAD, "Lead"), (AMY, "Amy"), (BOB, "Bob"), (CY, "Cy")]:
            session.add(User(telegram_id=uid, name=name, is_admin=uid == ADMIN))
        await session.flush()
        assert team.id is not None
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        wang = Customer(team_id=team.id, owner_id=AMY, name="Wang", optin_code="wang", created_at=NOW)
        session.add(wang)
        await session.flush()
        assert wang.id is not None
        session.add(
            Purchase(
                customer_id=wang.id, team_id=team.id, amount=Decimal(100), purchased_on=date(2026, 11, 1)
            )
        )
        session.add(
            Note(
                customer_id=wang.id, team_id=team.id, author_id=AMY, kind="note", text="first", created_at=NOW
            )
        )
        session.add(
            Note(
                customer_id=wang.id,
                team_id=team.id,
                author_id=LEAD,
                text="a photo",
                file_id="F1",
                file_kind="photo",
                created_at=NOW + timedelta(minutes=1),
            )
        )
        return sessions, team.id, wang.id


async def test_a_card_shows_its_owner_to_leads_and_its_history_on_that_tab(engine: AsyncEngine) -> None:
    sessions, team_id, wang = await _build(engine)
    today = date(2026, 11, 23)
    async with transaction(sessions) as session:
        as_rep = await card_service.card_view(
            session, Actor(AMY, Role.REP, team_id), wang, with_history=False, today=today
        )
        as_lead = await card_service.card_view(
            session, Actor(LEAD, Role.LEAD, team_id), wang, with_history=True, today=today
        )
    assert (as_rep.customer.name, as_rep.owner, as_rep.history, as_rep.insight) == ("Wang", None, None, None)
    assert as_lead.owner == "Amy"
    assert as_lead.history is not None and as_lead.history.purchase_count == 1
    assert as_lead.insight is not None
    with pytest.raises(NotAllowed):
        async with transaction(sessions) as session:
            await card_service.card_view(
                session, Actor(BOB, Role.REP, team_id), wang, with_history=False, today=today
            )


async def test_a_timeline_page_names_its_authors(engine: AsyncEngine) -> None:
    sessions, team_id, wang = await _build(engine)
    async with transaction(sessions) as session:
        found = await card_service.timeline(session, Actor(LEAD, Role.LEAD, team_id), wang, offset=0, limit=8)
    assert found.customer_name == "Wang"
    assert [n.text for n in found.page.items] == ["a photo", "first"]
    assert found.authors == {LEAD: "Lead", AMY: "Amy"}
    async with transaction(sessions) as session:
        photo = await card_service.note_file(session, customer_id=wang, note_id=found.page.items[0].id)
        plain = await card_service.note_file(session, customer_id=wang, note_id=found.page.items[1].id)
        elsewhere = await card_service.note_file(
            session, customer_id=wang + 1, note_id=found.page.items[0].id
        )
    assert photo is not None and photo.file_id == "F1"
    assert plain is None and elsewhere is None


async def test_tagging_a_note_checks_it_is_on_that_card(engine: AsyncEngine) -> None:
    sessions, team_id, wang = await _build(engine)
    amy = Actor(AMY, Role.REP, team_id)
    async with transaction(sessions) as session:
        page = await customer_service.notes_page(session, amy, wang, offset=0, limit=8)
    first = next(n for n in page.items if n.text == "first")
    with pytest.raises(InvalidInput):
        async with transaction(sessions) as session:
            await card_service.tag_note(session, amy, wang + 1, first.id, kind="call", now=NOW)
    async with transaction(sessions) as session:
        tagged = await card_service.tag_note(session, amy, wang, first.id, kind="call", now=NOW)
    assert tagged.kind == "call"


async def test_the_team_view_and_the_team_name(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    async with transaction(sessions) as session:
        view = await team_service.team_view(session, Actor(LEAD, Role.LEAD, team_id), team_id=team_id)
        name = await team_service.team_name(session, team_id)
        gone = await team_service.team_name(session, team_id + 99)
    assert view.name == "T" and name == "T" and gone is None
    assert {m.user_id: m.customers for m in view.members} == {LEAD: 0, AMY: 1, BOB: 0}
    with pytest.raises(NotAllowed):
        async with transaction(sessions) as session:
            await team_service.team_view(session, Actor(AMY, Role.REP, team_id), team_id=team_id)


async def test_a_new_team_comes_with_its_leads_invite_and_ends_the_form(engine: AsyncEngine) -> None:
    sessions, _, _ = await _build(engine)
    admin = Actor(ADMIN, Role.ADMIN, None, True)
    async with transaction(sessions) as session:
        await flow_store.save_flow(session, user_id=ADMIN, flow="new_team", step="name", data={}, now=NOW)
    async with transaction(sessions) as session:
        made = await flow_store.finish(
            session,
            ADMIN,
            lambda s: team_service.open_team(
                s, admin, name="  North  team ", timezone="Asia/Shanghai", now=NOW, ttl=timedelta(hours=48)
            ),
        )
    assert made.name == "North team" and made.lead_invite.startswith("l_")
    async with transaction(sessions) as session:
        _, flow = await team_service.identify(
            session, telegram_id=ADMIN, name="Ada", username=None, language="zh", admin_ids=()
        )
        welcome = await team_service.join(session, code=made.lead_invite, user_id=CY, now=NOW, admin_ids=())
    assert flow is None
    assert welcome.joined.kind == "lead" and welcome.actor.team_id == made.team_id


async def test_a_failed_effect_keeps_the_form(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, team_id)
    async with transaction(sessions) as session:
        await flow_store.save_flow(session, user_id=LEAD, flow="new_team", step="name", data={}, now=NOW)
    with pytest.raises(NotAllowed):
        async with transaction(sessions) as session:
            await flow_store.finish(
                session,
                LEAD,
                lambda s: team_service.open_team(
                    s, lead, name="X", timezone="Asia/Shanghai", now=NOW, ttl=timedelta(hours=1)
                ),
            )
    async with transaction(sessions) as session:
        _, flow = await team_service.identify(
            session, telegram_id=LEAD, name="Lead", username=None, language="zh", admin_ids=()
        )
    assert flow is not None and flow.flow == "new_team"
    with pytest.raises(NotFound):
        async with transaction(sessions) as session:
            await team_service.change_language(session, user_id=999_999, language="en", admin_ids=())
