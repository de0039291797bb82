"""The triggers that mark what the care planner must look at again.

The planner (`bot.scheduling.planner`) plans a team in full once a local day, and in
between only what these marks name. So every write to one of its inputs must leave a
mark, in the same transaction: a trigger does that for every writer at once (the
services, a `salesbot dispatch` worker, an import, an operator's SQL), where a call in
each service would be one more thing to forget. Which inputs, and why only these:

- a customer's `team_id`, `owner_id`, `archived_at`, `optin_state`, `telegram_chat_id`,
  `timezone`, birthday (`birthday_*`) and `grade` decide which occasions they get and how
  (festivals go through the rep only to A-grade customers); their purchases (added,
  changed, removed) decide the follow-ups and the anniversary;
- a team's care rules (`settings.care`) and `timezone` decide every customer's plan; its
  digest settings (`settings.digest`), its memberships and its members' timezones decide
  the morning agendas and the digests;
- a member's daily practice reminder (`practice_reminders`: set, moved or turned off)
  decides their practice reminder rows, planned with the agendas;
- the outbox itself: a row removed frees its key (a hand-over takes greetings back to
  write them again), a row back in the queue (a lease that ran out, a retry) must be
  judged again, and a rep's own message for a customer may be for one the planner no
  longer greets.

Names, nicknames, languages, the company name and the rep's name only go into the text
of a row when it is first planned, and nothing else changes what is planned: the rows
already there are never rewritten. So they need no mark. Notes and stages are not read
by the planner at all. Festivals and the days of the week ahead move with the calendar:
the daily full pass covers them.

Triggers are known by name: `install` creates those missing, so changing one means a
new name (and a migration that drops the old). It runs after every upgrade, because a
batch migration on SQLite copies a table and drops its triggers with the old one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

CUSTOMER, TEAM, MEMBERS = "customer", "team", "members"  # what a mark asks to plan again

CUSTOMER_INPUTS = (
    "team_id",
    "owner_id",
    "archived_at",
    "optin_state",
    "telegram_chat_id",
    "timezone",
    "birthday_year",
    "birthday_month",
    "birthday_day",
    "birthday_lunar",
    "birthday_leap",
    "grade",
)
PURCHASE_INPUTS = ("customer_id", "team_id", "purchased_on")
MEMBERSHIP_INPUTS = ("user_id", "team_id", "role", "active")
WAITING = "('review', 'planned')"  # outbox statuses the planner still judges


@dataclass(frozen=True)
class Trigger:
    """One trigger: after which write on which table, when, and the marks it adds."""

    name: str
    table: str
    event: str  # INSERT | UPDATE | DELETE
    marks: tuple[str, ...]  # SELECT … giving (team_id, customer_id, scope) rows, one per statement
    columns: tuple[str, ...] = ()  # UPDATE OF these
    when: str = ""  # with {changed} for "one of `columns` changed", {care} and {digest} for settings

    def ddl(self, dialect: str) -> list[str]:
        """The statements that create it on `dialect` (postgresql or sqlite)."""
        of = f" OF {', '.join(self.columns)}" if self.columns else ""
        when = self.when.format(
            changed=" OR ".join(_distinct(dialect, f"OLD.{c}", f"NEW.{c}") for c in self.columns),
            care=_distinct(dialect, _json(dialect, "OLD", "care"), _json(dialect, "NEW", "care")),
            digest=_distinct(dialect, _json(dialect, "OLD", "digest"), _json(dialect, "NEW", "digest")),
        )
        inserts = "".join(f"INSERT INTO plan_marks (team_id, customer_id, scope) {m}; " for m in self.marks)
        head = f"AFTER {self.event}{of} ON {self.table} FOR EACH ROW"
        if dialect == "postgresql":
            return [
                f"CREATE OR REPLACE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {inserts}RETURN NULL; END $$",
                f"CREATE TRIGGER {self.name} {head}{f' WHEN ({when})' if when else ''} "
                f"EXECUTE FUNCTION {self.name}()",
            ]
        condition = f" WHEN {when}" if when else ""
        return [f"CREATE TRIGGER IF NOT EXISTS {self.name} {head}{condition} BEGIN {inserts}END"]

    def drop(self, dialect: str) -> list[str]:
        """The statements that remove it."""
        if dialect == "postgresql":
            return [
                f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}",
                f"DROP FUNCTION IF EXISTS {self.name}()",
            ]
        return [f"DROP TRIGGER IF EXISTS {self.name}"]


def _distinct(dialect: str, old: str, new: str) -> str:
    return f"{old} IS DISTINCT FROM {new}" if dialect == "postgresql" else f"{old} IS NOT {new}"


def _json(dialect: str, row: str, key: str) -> str:
    """A key of a team's settings as text (JSON has no equality on PostgreSQL)."""
    if dialect == "postgresql":
        return f"({row}.settings -> '{key}')::text"
    return f"json_extract({row}.settings, '$.{key}')"


def _mark(team: str, customer: str, scope: str, where: str = "") -> str:
    return f"SELECT {team}, {customer}, {scope}" + (f" WHERE {where}" if where else "")


TRIGGERS = (
    Trigger(
        "plan_mark_customer_new", "customers", "INSERT", (_mark("NEW.team_id", "NEW.id", f"'{CUSTOMER}'"),)
    ),
    Trigger(
        "plan_mark_customer_change",
        "customers",
        "UPDATE",
        (
            _mark("NEW.team_id", "NEW.id", f"'{CUSTOMER}'"),
            _mark("OLD.team_id", "OLD.id", f"'{CUSTOMER}'", "OLD.team_id <> NEW.team_id"),
        ),
        CUSTOMER_INPUTS,
        "{changed}",
    ),
    Trigger(
        "plan_mark_purchase_new",
        "purchases",
        "INSERT",
        (_mark("NEW.team_id", "NEW.customer_id", f"'{CUSTOMER}'"),),
    ),
    Trigger(
        "plan_mark_purchase_change",
        "purchases",
        "UPDATE",
        (
            _mark("NEW.team_id", "NEW.customer_id", f"'{CUSTOMER}'"),
            _mark("OLD.team_id", "OLD.customer_id", f"'{CUSTOMER}'"),
        ),
        PURCHASE_INPUTS,
        "{changed}",
    ),
    Trigger(
        "plan_mark_purchase_gone",
        "purchases",
        "DELETE",
        (_mark("OLD.team_id", "OLD.customer_id", f"'{CUSTOMER}'"),),
    ),
    Trigger(
        "plan_mark_team_rules",
        "teams",
        "UPDATE",
        (_mark("NEW.id", "NULL", f"'{TEAM}'"),),
        ("settings", "timezone"),
        "{care} OR OLD.timezone <> NEW.timezone",
    ),
    Trigger(
        "plan_mark_team_digest",
        "teams",
        "UPDATE",
        (_mark("NEW.id", "NULL", f"'{MEMBERS}'"),),
        ("settings",),
        "{digest}",
    ),
    Trigger("plan_mark_member_new", "memberships", "INSERT", (_mark("NEW.team_id", "NULL", f"'{MEMBERS}'"),)),
    Trigger(
        "plan_mark_member_change",
        "memberships",
        "UPDATE",
        (_mark("NEW.team_id", "NULL", f"'{MEMBERS}'"), _mark("OLD.team_id", "NULL", f"'{MEMBERS}'")),
        MEMBERSHIP_INPUTS,
        "{changed}",
    ),
    Trigger(
        "plan_mark_member_gone", "memberships", "DELETE", (_mark("OLD.team_id", "NULL", f"'{MEMBERS}'"),)
    ),
    Trigger(
        "plan_mark_user_zone",
        "users",
        "UPDATE",
        (f"SELECT team_id, NULL, '{MEMBERS}' FROM memberships WHERE user_id = NEW.telegram_id",),
        ("timezone",),
        "{changed}",
    ),
    *(
        Trigger(
            f"plan_mark_practice_reminder_{event.lower()}",
            "practice_reminders",
            event,
            (f"SELECT team_id, NULL, '{MEMBERS}' FROM memberships WHERE user_id = {row}.user_id AND active",),
            ("at",) if event == "UPDATE" else (),
            "{changed}" if event == "UPDATE" else "",
        )
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ),
    Trigger(
        "plan_mark_outbox_gone",
        "outbox",
        "DELETE",
        (
            _mark(
                "OLD.team_id",
                "OLD.customer_id",
                f"CASE WHEN OLD.customer_id IS NULL THEN '{MEMBERS}' ELSE '{CUSTOMER}' END",
            ),
        ),
    ),
    Trigger(
        "plan_mark_outbox_back",
        "outbox",
        "UPDATE",
        (_mark("NEW.team_id", "NEW.customer_id", f"'{CUSTOMER}'"),),
        ("status",),
        f"NEW.customer_id IS NOT NULL AND NEW.status IN {WAITING} AND OLD.status NOT IN {WAITING}",
    ),
    Trigger(
        "plan_mark_outbox_own",
        "outbox",
        "INSERT",
        (_mark("NEW.team_id", "NEW.customer_id", f"'{CUSTOMER}'"),),
        when="NEW.customer_id IS NOT NULL AND NEW.occasion = 'one_off'",
    ),
)


def installed(connection: Connection) -> set[str]:
    """The names of the plan-mark triggers the database has."""
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
    else:
        rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    return {str(name) for (name,) in rows} & {t.name for t in TRIGGERS}


def install(connection: Connection) -> None:
    """Create the triggers that are missing (none before the plan_marks table exists)."""
    tables = set(inspect(connection).get_table_names())
    if "plan_marks" not in tables:
        return
    have = installed(connection)
    for trigger in TRIGGERS:
        # A table a later migration creates gets its triggers at the end of that upgrade.
        if trigger.name not in have and trigger.table in tables:
            for statement in trigger.ddl(connection.dialect.name):
                connection.exec_driver_sql(statement)


def uninstall(connection: Connection) -> None:
    """Drop every plan-mark trigger."""
    for trigger in TRIGGERS:
        for statement in trigger.drop(connection.dialect.name):
            connection.exec_driver_sql(statement)
