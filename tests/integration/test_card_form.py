"""A whole card saved at once (the Mini App's card form): the bot's checks and date parsing for
every field, every bad field named and nothing applied, and no silent overwrite of a card
changed meanwhile; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.access import Actor, Role
from bot.domain.errors import Changed, FieldErrors, NotAllowed
from bot.services import customers as svc
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import Customer, Membership, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LEAD, AMY, BOB = 700, 701, 702


async def _build(engine: AsyncEngine) -> tuple[SessionFactory, int, int]:
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = Team(name="T", timezone="Asia/Shanghai")
        session.add(team)
        for uid in (LEAD, AMY, BOB):
            session.add(User(telegram_id=uid, name=f"u{uid}"))
        await session.flush()
        assert team.id is not None
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        wang = Customer(
            team_id=team.id,
            owner_id=AMY,
            name="Wang",
            optin_code="form-wang",
            company="Old Co",
            phone="13800138000",
            phone_digits="13800138000",
            created_at=NOW - timedelta(days=30),
            updated_at=NOW - timedelta(days=1),
        )
        session.add(wang)
        await session.flush()
        assert wang.id is not None
        return sessions, team.id, wang.id


async def _card(sessions: SessionFactory, customer_id: int) -> Customer:
    async with transaction(sessions) as session:
        found = await session.get(Customer, customer_id)
        assert found is not None
        return found


async def test_a_form_saves_every_field_with_the_bots_parsing(engine: AsyncEngine) -> None:
    sessions, team, wang = await _build(engine)
    amy = Actor(AMY, Role.REP, team)
    async with transaction(sessions) as session:
        await svc.update_fields(
            session,
            amy,
            wang,
            changes={
                "birthday": "农历八月十五",
                "company": "  静雅花艺  ",
                "email": "wang@example.com",
                "tags": "vip, tea",
                "phone": "",  # cleared
                "contact_every_days": "10",
            },
            now=NOW,
        )
    card = await _card(sessions, wang)
    assert (card.birthday_month, card.birthday_day, card.birthday_lunar) == (8, 15, True)
    assert card.company == "静雅花艺" and card.email == "wang@example.com"
    assert card.tags == ["vip", "tea"] and card.contact_every_days == 10
    assert card.phone is None and card.phone_digits is None
    assert card.updated_at is not None and card.updated_at.replace(tzinfo=UTC) == NOW
    assert "静雅花艺".lower() in (card.search_text or "")  # found by the bot's search at once


async def test_every_bad_field_is_named_and_nothing_is_applied(engine: AsyncEngine) -> None:
    sessions, team, wang = await _build(engine)
    amy = Actor(AMY, Role.REP, team, language="en")
    async with transaction(sessions) as session:
        with pytest.raises(FieldErrors) as raised:
            await svc.update_fields(
                session,
                amy,
                wang,
                changes={
                    "company": "New Co",  # fine, but not applied while others fail
                    "birthday": "明天",  # a relative date is no birthday
                    "email": "not-an-address",
                    "name": " ",
                    "no_such_field": "x",
                },
                now=NOW,
            )
    errors = raised.value.errors
    assert {key: error.key for key, error in errors.items()} == {
        "birthday": "error.birthday_relative",
        "email": "error.email",
        "name": "error.name_empty",
        "no_such_field": "error.unknown_field",
    }
    assert raised.value.params == {"count": 4}
    card = await _card(sessions, wang)
    assert card.company == "Old Co" and card.name == "Wang"


async def test_a_card_changed_meanwhile_is_not_overwritten(engine: AsyncEngine) -> None:
    sessions, team, wang = await _build(engine)
    amy = Actor(AMY, Role.REP, team)
    opened = svc.card_version(await _card(sessions, wang))
    async with transaction(sessions) as session:  # the bot edits the card meanwhile
        await svc.update_field(session, amy, wang, key="company", raw="From the chat", now=NOW)
    async with transaction(sessions) as session:
        with pytest.raises(Changed):
            await svc.update_fields(
                session, amy, wang, changes={"company": "From the form"}, now=NOW, version=opened
            )
    assert (await _card(sessions, wang)).company == "From the chat"
    fresh = svc.card_version(await _card(sessions, wang))
    async with transaction(sessions) as session:
        await svc.update_fields(
            session,
            amy,
            wang,
            changes={"company": "From the form"},
            now=NOW + timedelta(minutes=1),
            version=fresh,
        )
    assert (await _card(sessions, wang)).company == "From the form"


async def test_only_those_who_may_edit_the_card_save_its_form(engine: AsyncEngine) -> None:
    sessions, team, wang = await _build(engine)
    async with transaction(sessions) as session:
        with pytest.raises(NotAllowed):
            await svc.update_fields(
                session, Actor(BOB, Role.REP, team), wang, changes={"company": "X"}, now=NOW
            )
    async with transaction(sessions) as session:
        await svc.update_fields(
            session, Actor(LEAD, Role.LEAD, team), wang, changes={"company": "Lead's"}, now=NOW
        )
    assert (await _card(sessions, wang)).company == "Lead's"
