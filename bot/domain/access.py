"""Who may do what: the one policy every update and callback is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a Telegram user is to the bot."""

    ADMIN = "admin"
    LEAD = "lead"
    REP = "rep"
    CUSTOMER = "customer"
    STRANGER = "stranger"


class Perm(StrEnum):
    """The permissions routes declare."""

    ANY = "any"  # anyone, strangers included (start, help, language)
    STAFF = "staff"  # admin, lead or rep
    MEMBER = "member"  # lead or rep of a team
    VIEW_CUSTOMER = "view_customer"
    EDIT_CUSTOMER = "edit_customer"
    LEAD = "lead"  # lead of a team (or admin acting on it)
    EXPORT = "export"
    REASSIGN = "reassign"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """The user behind an update, as the policy sees them."""

    user_id: int
    role: Role
    team_id: int | None = None
    is_admin: bool = False
    language: str = "zh"

    @property
    def is_staff(self) -> bool:
        """Admin, lead or rep."""
        return self.is_admin or self.role in (Role.LEAD, Role.REP)

    @property
    def is_lead(self) -> bool:
        """Lead of a team."""
        return self.role is Role.LEAD


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """The ownership facts the policy needs about a customer."""

    customer_id: int
    team_id: int
    owner_id: int


def can_view_customer(actor: Actor, customer: CustomerRef) -> bool:
    """A rep sees their own customers, a lead their team's, an admin everything."""
    if actor.is_admin:
        return True
    if actor.team_id != customer.team_id:
        return False
    if actor.role is Role.LEAD:
        return True
    return actor.role is Role.REP and actor.user_id == customer.owner_id


def can_edit_customer(actor: Actor, customer: CustomerRef) -> bool:
    """Editing follows viewing: the owner, their lead, or an admin."""
    return can_view_customer(actor, customer)


def can_manage_team(actor: Actor, team_id: int) -> bool:
    """Leads manage their own team (invite, reassign, export); admins any team."""
    if actor.is_admin:
        return True
    return actor.role is Role.LEAD and actor.team_id == team_id


def allows(actor: Actor, perm: Perm) -> bool:
    """The role-level part of a permission (object checks follow for customers and teams)."""
    match perm:
        case Perm.ANY:
            return True
        case Perm.STAFF:
            return actor.is_staff
        case Perm.MEMBER | Perm.VIEW_CUSTOMER | Perm.EDIT_CUSTOMER:
            return actor.is_admin or actor.role in (Role.LEAD, Role.REP)
        case Perm.LEAD | Perm.EXPORT | Perm.REASSIGN:
            return actor.is_admin or actor.role is Role.LEAD
        case Perm.ADMIN:
            return actor.is_admin
    return False
