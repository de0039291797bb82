"""The customer's side (opt-in, /stop, relay), contact import, joining by invite and changing
language: the service functions on a real database session, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.domain.access import Actor, Role
from bot.domain.errors import InvalidInput, NotAllowed, SalesbotError, Stale
from bot.services import contacts as contact_service
from bot.services import optin as optin_service
from bot.services import team as team_service
from bot.services.customers import validate_field
from bot.storage.db import SessionFactory, make_session_factory, transaction
from bot.storage.models import Customer, Invite, Membership, Note, OutboxMessage, Team, User

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LEAD, AMY, BOB, STRANGER, OTHER = 100, 101, 102, 300, 301


async def _build(engine: AsyncEngine) -> tuple[SessionFactory, int, dict[str, int]]:
    """Team T (lead, Amy, Bob); Amy's customers Wang (with a phone) and Li (archived)."""
    sessions = make_session_factory(engine)
    async with transaction(sessions) as session:
        team = Team(name="T", timezone="Asia/Shanghai")
        session.add(team)
        users = [(LEAD, "Lead", "zh"), (AMY, "Amy", "en"), (BOB, "Bob", "zh"), (STRANGER, "Sam", "en")]
        for uid, name, lang in [*users, (OTHER, "Otto", "zh")]:
            session.add(User(telegram_id=uid, name=name, language=lang))
        await session.flush()
        assert team.id is not None
        for uid, role in [(LEAD, "lead"), (AMY, "rep"), (BOB, "rep")]:
            session.add(Membership(user_id=uid, team_id=team.id, role=role))
        phone = validate_field("phone", "13800138000", today=NOW.date())
        wang = Customer(
            team_id=team.id,
            owner_id=AMY,
            name="Wang",
            optin_code="wang",
            phone=phone.phone,
            phone_digits=phone.phone_digits,
        )
        li = Customer(team_id=team.id, owner_id=AMY, name="Li", optin_code="li", archived_at=NOW)
        session.add_all([wang, li])
        await session.flush()
        assert wang.id is not None and li.id is not None
        return sessions, team.id, {"wang": wang.id, "li": li.id}


async def _customer(sessions: SessionFactory, customer_id: int) -> Customer:
    async with transaction(sessions) as session:
        found = await session.get(Customer, customer_id)
        assert found is not None
        return found


async def _events(sessions: SessionFactory, customer_id: int) -> list[str]:
    async with transaction(sessions) as session:
        notes = await session.exec(
            select(Note).where(col(Note.customer_id) == customer_id).order_by(col(Note.id))
        )
        return [n.meta.get("event", n.kind) if n.kind == "system" else n.kind for n in notes.all()]


# ---------------------------------------------------------------- opt-in and opt-out


async def test_opening_a_personal_link_links_the_chat_and_names_the_rep(engine: AsyncEngine) -> None:
    sessions, _, ids = await _build(engine)
    sam = Actor(STRANGER, Role.STRANGER, language="en")
    async with transaction(sessions) as session:
        opted = await optin_service.opt_in(session, sam, code="wang", now=NOW)
    assert opted.customer_name == "Wang"
    assert opted.rep == optin_service.Rep(AMY, "Amy", "en")
    wang = await _customer(sessions, ids["wang"])
    assert (wang.telegram_chat_id, wang.optin_state, wang.language) == (STRANGER, "in", "en")
    assert await _events(sessions, ids["wang"]) == ["optin"]
    # The same chat may open it again; another chat may not.
    async with transaction(sessions) as session:
        await optin_service.opt_in(session, Actor(STRANGER, Role.CUSTOMER), code="wang", now=NOW)
    with pytest.raises(Stale) as taken:
        async with transaction(sessions) as session:
            await optin_service.opt_in(session, Actor(OTHER, Role.STRANGER), code="wang", now=NOW)
    assert taken.value.key == "error.optin_taken"


@pytest.mark.parametrize(
    ("actor", "code", "error", "key"),
    [
        (Actor(AMY, Role.REP, 1), "wang", NotAllowed, "optin.staff"),
        (Actor(STRANGER, Role.STRANGER), "li", Stale, "error.invite_used"),
        (Actor(STRANGER, Role.STRANGER), "nobody", Stale, "error.invite_used"),
    ],
)
async def test_a_link_that_does_not_work_changes_nothing(
    engine: AsyncEngine, actor: Actor, code: str, error: type[SalesbotError], key: str
) -> None:
    sessions, _, ids = await _build(engine)
    with pytest.raises(error) as refused:
        async with transaction(sessions) as session:
            await optin_service.opt_in(session, actor, code=code, now=NOW)
    assert refused.value.key == key
    assert (await _customer(sessions, ids["wang"])).telegram_chat_id is None
    assert await _events(sessions, ids["wang"]) == []


async def test_stop_opts_out_every_card_and_skips_waiting_care(engine: AsyncEngine) -> None:
    sessions, team_id, ids = await _build(engine)
    sam = Actor(STRANGER, Role.STRANGER)
    async with transaction(sessions) as session:
        await optin_service.opt_in(session, sam, code="wang", now=NOW)
        for status in ("planned", "review", "sent"):
            session.add(
                OutboxMessage(
                    key=f"k-{status}",
                    team_id=team_id,
                    customer_id=ids["wang"],
                    rep_id=AMY,
                    occasion="birthday",
                    day=date(2026, 11, 24),
                    channel="telegram",
                    chat_id=STRANGER,
                    text="hi",
                    status=status,
                    due_at=NOW + timedelta(days=1),
                )
            )
    customer = Actor(STRANGER, Role.CUSTOMER)
    async with transaction(sessions) as session:
        count = await optin_service.opt_out(session, customer, now=NOW)
    assert count == 1
    assert (await _customer(sessions, ids["wang"])).optin_state == "out"
    assert await _events(sessions, ids["wang"]) == ["optin", "optout"]
    async with transaction(sessions) as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.key)))).all()
    assert [(r.key, r.status, r.reason) for r in rows] == [
        ("k-planned", "skipped", "opted_out"),
        ("k-review", "skipped", "opted_out"),
        ("k-sent", "sent", None),
    ]
    with pytest.raises(NotAllowed):
        async with transaction(sessions) as session:
            await optin_service.opt_out(session, Actor(AMY, Role.REP, team_id), now=NOW)


async def test_a_customers_message_is_kept_on_the_card_for_the_rep(engine: AsyncEngine) -> None:
    sessions, _, ids = await _build(engine)
    async with transaction(sessions) as session:
        await optin_service.opt_in(session, Actor(STRANGER, Role.STRANGER), code="wang", now=NOW)
    later = NOW + timedelta(hours=2)
    long_text = "你好" * 3000
    async with transaction(sessions) as session:
        relayed = await optin_service.relay(
            session, Actor(STRANGER, Role.CUSTOMER), text=long_text, now=later
        )
    assert relayed == [optin_service.Relayed(ids["wang"], "Wang", optin_service.Rep(AMY, "Amy", "en"))]
    wang = await _customer(sessions, ids["wang"])
    assert wang.last_contact_at is not None
    assert wang.last_contact_at.replace(tzinfo=UTC) == later
    async with transaction(sessions) as session:
        kept = (await session.exec(select(Note).where(col(Note.kind) == "message"))).one()
    assert kept.customer_id == ids["wang"] and kept.text == long_text[:5000]
    async with transaction(sessions) as session:
        assert await optin_service.relay(session, Actor(OTHER, Role.CUSTOMER), text="hi", now=NOW) == []


# ---------------------------------------------------------------- import


async def test_import_skips_the_teams_numbers_and_rejects_what_it_cannot_read(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    contacts = [
        {"name": "Zhao", "phone": "13900139000", "email": "not an email"},  # lenient: the e-mail is left out
        {"name": "Wang again", "phone": "+86 138 0013 8000"},  # Amy's Wang
        {"name": "", "phone": "13700137000"},  # no name
        {"name": "Qian"},
    ]
    bob = Actor(BOB, Role.REP, team_id)
    async with transaction(sessions) as session:
        imported = await contact_service.import_contacts(session, bob, contacts=contacts, now=NOW)
    assert imported.found == 4
    assert [name for _, name in imported.created] == ["Zhao", "Qian"]
    assert imported.duplicates == [None]  # Amy's customer: not named to Bob
    assert imported.rejected == ["?"]
    assert imported.single is None
    async with transaction(sessions) as session:
        zhao = await session.get(Customer, imported.created[0][0])
        assert zhao is not None and zhao.owner_id == BOB and zhao.phone_digits == "8613900139000"
    lead = Actor(LEAD, Role.LEAD, team_id)
    async with transaction(sessions) as session:
        again = await contact_service.import_contacts(
            session, lead, contacts=[{"name": "W", "phone": "13800138000"}], now=NOW
        )
    assert (again.created, again.duplicates) == ([], ["Wang"])
    with pytest.raises(InvalidInput) as no_team:
        async with transaction(sessions) as session:
            await contact_service.import_contacts(
                session, Actor(OTHER, Role.REP, None), contacts=[{"name": "X"}], now=NOW
            )
    assert no_team.value.key == "error.need_team"


async def test_a_vcard_file_becomes_cards(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    amy = Actor(AMY, Role.REP, team_id)
    vcf = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Sun Li\r\nTEL:13600136000\r\nEND:VCARD\r\n"
    async with transaction(sessions) as session:
        imported = await contact_service.import_vcard(session, amy, content=vcf, now=NOW)
    assert imported.found == 1 and imported.single is not None
    assert (await _customer(sessions, imported.single)).name == "Sun Li"
    async with transaction(sessions) as session:
        empty = await contact_service.import_vcard(session, amy, content=b"hello", now=NOW)
    assert empty.found == 0 and empty.created == []


# ---------------------------------------------------------------- joining and language


async def test_joining_by_invite_returns_the_new_role(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    lead = Actor(LEAD, Role.LEAD, team_id)
    async with transaction(sessions) as session:
        code = await team_service.create_invite(
            session, lead, kind="rep", team_id=team_id, now=NOW, ttl=timedelta(hours=1)
        )
    assert code.startswith("r_")
    async with transaction(sessions) as session:
        welcome = await team_service.join(session, code=code, user_id=STRANGER, now=NOW, admin_ids=())
    assert (welcome.joined.kind, welcome.joined.team_name) == ("rep", "T")
    assert (welcome.actor.role, welcome.actor.team_id) == (Role.REP, team_id)
    with pytest.raises(Stale) as used:
        async with transaction(sessions) as session:
            await team_service.join(session, code=code, user_id=OTHER, now=NOW, admin_ids=())
    assert used.value.key == "error.invite_used"
    async with transaction(sessions) as session:
        invite = await session.get(Invite, code)
        assert invite is not None and invite.used_by == STRANGER


async def test_claiming_admin_rights_by_invite(engine: AsyncEngine) -> None:
    sessions, _, _ = await _build(engine)
    async with transaction(sessions) as session:
        code = await team_service.create_invite(
            session, None, kind="admin", team_id=None, now=NOW, ttl=timedelta(days=7)
        )
    assert code.startswith("a_")
    async with transaction(sessions) as session:
        welcome = await team_service.join(session, code=code, user_id=OTHER, now=NOW, admin_ids=())
    assert welcome.joined.kind == "admin"
    assert (welcome.actor.role, welcome.actor.is_admin) == (Role.ADMIN, True)


async def test_changing_language_returns_the_actor_in_it(engine: AsyncEngine) -> None:
    sessions, team_id, _ = await _build(engine)
    async with transaction(sessions) as session:
        actor = await team_service.change_language(session, user_id=BOB, language="en", admin_ids=())
    assert actor == Actor(BOB, Role.REP, team_id, False, "en")
    async with transaction(sessions) as session:
        bob = await session.get(User, BOB)
        assert bob is not None and (bob.language, bob.language_chosen) == ("en", True)
