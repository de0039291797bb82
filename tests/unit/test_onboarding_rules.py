"""The pure rules behind /start and plain messages: deep links, where input goes, opt-in, import."""

from __future__ import annotations

import pytest

from bot.domain import deeplinks
from bot.domain.access import Actor, CustomerRef, Role
from bot.domain.contacts import VCF_MAX_BYTES, Imported, check_vcard_file, contact_name, duplicate_name
from bot.domain.deeplinks import DeepLink, LinkKind
from bot.domain.errors import InvalidInput, NotAllowed, Stale
from bot.domain.inbox import Doing, MediaGoes, TextGoes, where_media_goes, where_text_goes
from bot.domain.optin import check_optin, check_optout

ADMIN = Actor(1, Role.ADMIN, None, True)
LEAD = Actor(2, Role.LEAD, 10)
REP = Actor(3, Role.REP, 10)
OTHER_REP = Actor(4, Role.REP, 10)
TEAMLESS_REP = Actor(5, Role.REP, None)
CUSTOMER = Actor(6, Role.CUSTOMER)
STRANGER = Actor(7, Role.STRANGER)


# ---------------------------------------------------------------- deep links


@pytest.mark.parametrize("kind", ["admin", "lead", "rep"])
def test_an_invite_payload_reads_back_whole(kind: str) -> None:
    payload = deeplinks.invite_payload(kind, "abc123")
    assert payload == f"{kind[0]}_abc123"
    assert deeplinks.parse(payload) == DeepLink(LinkKind.INVITE, payload)


def test_an_optin_payload_carries_the_customers_code() -> None:
    assert deeplinks.optin_payload("xyz") == "c_xyz"
    assert deeplinks.parse("c_xyz") == DeepLink(LinkKind.OPTIN, "xyz")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("", DeepLink(LinkKind.NONE)),
        ("digest", DeepLink(LinkKind.DIGEST)),
        ("a_", DeepLink(LinkKind.INVITE, "a_")),
        ("c_", DeepLink(LinkKind.OPTIN, "")),
        ("x_abc", DeepLink(LinkKind.UNKNOWN, "x_abc")),
        ("ab_c", DeepLink(LinkKind.UNKNOWN, "ab_c")),
        ("abc", DeepLink(LinkKind.UNKNOWN, "abc")),
        ("digest_x", DeepLink(LinkKind.UNKNOWN, "digest_x")),
    ],
)
def test_other_payloads(payload: str, expected: DeepLink) -> None:
    assert deeplinks.parse(payload) == expected


def test_the_link_opens_the_bot_with_the_payload() -> None:
    assert deeplinks.url("salesbot", "c_xyz") == "https://t.me/salesbot?start=c_xyz"


# ---------------------------------------------------------------- where plain input goes


@pytest.mark.parametrize(
    ("actor", "doing", "text", "expected"),
    [
        (REP, Doing.PLAYBOOK, "hi", TextGoes.PLAYBOOK),
        (REP, Doing.FORM, "x" * 500, TextGoes.FORM),
        (REP, Doing.NOTHING, " Wang ", TextGoes.SEARCH),
        (REP, Doing.NOTHING, "x" * 101, TextGoes.TOO_LONG),
        (REP, Doing.NOTHING, "  " + "x" * 100 + "  ", TextGoes.SEARCH),
        (TEAMLESS_REP, Doing.NOTHING, "Wang", TextGoes.MENU),
        (ADMIN, Doing.NOTHING, "Wang", TextGoes.SEARCH),
        (CUSTOMER, Doing.NOTHING, "hello", TextGoes.REP),
        (STRANGER, Doing.NOTHING, "hello", TextGoes.INTRO),
    ],
)
def test_where_text_goes(actor: Actor, doing: Doing, text: str, expected: TextGoes) -> None:
    assert where_text_goes(actor, doing, text) is expected


@pytest.mark.parametrize(
    ("actor", "doing", "document", "expected"),
    [
        (STRANGER, Doing.NOTHING, True, MediaGoes.INTRO),
        (CUSTOMER, Doing.NOTHING, False, MediaGoes.TEXT_ONLY),
        (REP, Doing.PLAYBOOK, True, MediaGoes.PLAYBOOK),
        (REP, Doing.FORM, True, MediaGoes.FORM),
        (LEAD, Doing.NOTHING, True, MediaGoes.IMPORT),
        (LEAD, Doing.NOTHING, False, MediaGoes.OPEN_CARD_FIRST),
    ],
)
def test_where_media_goes(actor: Actor, doing: Doing, document: bool, expected: MediaGoes) -> None:
    assert where_media_goes(actor, doing, is_document=document) is expected


# ---------------------------------------------------------------- a customer's side


def test_staff_cannot_opt_in_as_customers() -> None:
    with pytest.raises(NotAllowed) as refused:
        check_optin(REP, found=True, archived=False, linked_chat_id=None)
    assert refused.value.key == "optin.staff"


@pytest.mark.parametrize(
    ("found", "archived", "linked", "key"),
    [
        (False, False, None, "error.invite_used"),
        (True, True, None, "error.invite_used"),
        (True, False, 99, "error.optin_taken"),
    ],
)
def test_a_link_that_no_longer_works(found: bool, archived: bool, linked: int | None, key: str) -> None:
    with pytest.raises(Stale) as refused:
        check_optin(STRANGER, found=found, archived=archived, linked_chat_id=linked)
    assert refused.value.key == key


def test_a_link_works_for_a_new_chat_and_again_for_the_same_one() -> None:
    check_optin(STRANGER, found=True, archived=False, linked_chat_id=None)
    check_optin(CUSTOMER, found=True, archived=False, linked_chat_id=CUSTOMER.user_id)


def test_only_customers_opt_out() -> None:
    check_optout(CUSTOMER)
    for actor in (STRANGER, REP, ADMIN):
        with pytest.raises(NotAllowed) as refused:
            check_optout(actor)
        assert refused.value.key == "stop.not_customer"


# ---------------------------------------------------------------- import


@pytest.mark.parametrize(
    ("name", "mime", "size", "actor", "key"),
    [
        ("photo.jpg", "image/jpeg", 10, REP, "import.wrong_type"),
        (None, None, 10, REP, "import.wrong_type"),
        ("people.vcf", None, 10, TEAMLESS_REP, "error.need_team"),
        ("people.VCARD", None, VCF_MAX_BYTES + 1, REP, "import.too_big"),
        ("people.txt", "text/vcard", VCF_MAX_BYTES + 1, REP, "import.too_big"),
        ("people.vcf", "", None, REP, None),
        ("export", "text/x-vcard", VCF_MAX_BYTES, REP, None),
    ],
)
def test_which_files_are_imported(
    name: str | None, mime: str | None, size: int | None, actor: Actor, key: str | None
) -> None:
    if key is None:
        check_vcard_file(actor, file_name=name, mime_type=mime, size=size)
        return
    with pytest.raises(InvalidInput) as refused:
        check_vcard_file(actor, file_name=name, mime_type=mime, size=size)
    assert refused.value.key == key


def test_a_wrong_file_is_named_in_the_reply() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_vcard_file(REP, file_name=None, mime_type="image/png", size=1)
    assert refused.value.params == {"name": "image/png"}


def test_a_duplicate_names_its_owner_only_to_those_who_may_see_it() -> None:
    amys = CustomerRef(50, 10, REP.user_id)
    assert duplicate_name(REP, amys, "Wang") == "Wang"
    assert duplicate_name(LEAD, amys, "Wang") == "Wang"
    assert duplicate_name(OTHER_REP, amys, "Wang") is None


def test_a_shared_contacts_name() -> None:
    assert contact_name("Li", "Wei") == "Li Wei"
    assert contact_name("Li", None) == "Li"


def test_a_single_new_card_is_shown_at_once() -> None:
    assert Imported(1, [(7, "Wang")]).single == 7
    assert Imported(2, [(7, "Wang")], [None]).single is None
    assert Imported(2, [(7, "Wang")], rejected=["?"]).single is None
    assert Imported(2, [(7, "Wang"), (8, "Li")]).single is None
