"""Care occasions: which messages a customer is due, on which day, at what time.

Pure functions over a customer's facts and the team's rules. Festivals come from the
`holidays` library for the team's country (Chinese festivals by default), the
Lantern Festival from the lunar calendar, birthdays from the card (solar or lunar).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from lunar_python import Lunar

from bot.domain.card import PURCHASE_KINDS
from bot.domain.dates import ParsedDate


class Occasion(StrEnum):
    """Why a care message is sent."""

    BIRTHDAY = "birthday"
    NEW_YEAR = "new_year"
    SPRING_FESTIVAL = "spring_festival"
    LANTERN = "lantern"
    DRAGON_BOAT = "dragon_boat"
    MID_AUTUMN = "mid_autumn"
    NATIONAL_DAY = "national_day"
    HOLIDAY = "holiday"  # another public holiday of the team's country
    FOLLOWUP_3 = "followup_3"  # three days after a purchase: how is it going?
    FOLLOWUP_30 = "followup_30"  # a month on: satisfied?
    FOLLOWUP_90 = "followup_90"  # three months on: a restock, or how it is going
    ANNIVERSARY = "anniversary"  # of the first purchase


FESTIVALS = (
    Occasion.NEW_YEAR,
    Occasion.SPRING_FESTIVAL,
    Occasion.LANTERN,
    Occasion.DRAGON_BOAT,
    Occasion.MID_AUTUMN,
    Occasion.NATIONAL_DAY,
    Occasion.HOLIDAY,
)
FOLLOWUPS = {Occasion.FOLLOWUP_3: 3, Occasion.FOLLOWUP_30: 30, Occasion.FOLLOWUP_90: 90}
# When a week holds more occasions than the cap allows, these go first.
PRIORITY = (
    Occasion.BIRTHDAY,
    Occasion.SPRING_FESTIVAL,
    Occasion.MID_AUTUMN,
    Occasion.ANNIVERSARY,
    Occasion.FOLLOWUP_3,
    Occasion.NEW_YEAR,
    Occasion.LANTERN,
    Occasion.DRAGON_BOAT,
    Occasion.NATIONAL_DAY,
    Occasion.HOLIDAY,
    Occasion.FOLLOWUP_30,
    Occasion.FOLLOWUP_90,
)

# The holidays library's English names of the Chinese festivals we greet.
_CN_NAMES = {
    "New Year's Day": Occasion.NEW_YEAR,
    "Chinese New Year (Spring Festival)": Occasion.SPRING_FESTIVAL,
    "Dragon Boat Festival": Occasion.DRAGON_BOAT,
    "Mid-Autumn Festival": Occasion.MID_AUTUMN,
    "National Day": Occasion.NATIONAL_DAY,
}
DEFAULT_HOLIDAYS = ("New Year's Day", "Christmas Day")


@dataclass(frozen=True)
class CareRules:
    """A team's care settings (`team.settings["care"]`), with sensible defaults."""

    occasions: frozenset[str] = frozenset(o.value for o in Occasion)
    send_hour: int = 10  # local time of the customer
    agenda_hour: int = 8  # the reps' morning agenda, local time of the team
    quiet_start: int = 21  # no message from this hour…
    quiet_end: int = 8  # …until this one
    weekly_cap: int = 2  # messages per customer per week (Monday to Sunday)
    review: bool = False  # the rep approves each message before it goes
    country: str = "CN"
    holidays: tuple[str, ...] = DEFAULT_HOLIDAYS  # other countries: which holidays to greet
    festivals_via_rep: tuple[str, ...] = ("A",)  # grades greeted at festivals through their rep
    # Words in a purchase's items that say what it is (the 90-day text depends on it):
    consumables: tuple[str, ...] = ()  # used up and bought again: ask about a restock
    durables: tuple[str, ...] = ()  # equipment, licences, service contracts: ask how it runs

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> CareRules:
        """Rules from a team's settings; unknown or broken values fall back to defaults."""
        raw = settings.get("care") if isinstance(settings, Mapping) else None
        if not isinstance(raw, Mapping):
            return cls()
        base = cls()
        values: dict[str, Any] = {}
        if isinstance(raw.get("occasions"), Mapping):
            values["occasions"] = frozenset(
                o.value for o in Occasion if raw["occasions"].get(o.value, True) is not False
            )
        for name in ("send_hour", "agenda_hour", "quiet_start", "quiet_end"):
            if isinstance(raw.get(name), int) and 0 <= raw[name] <= 23:
                values[name] = raw[name]
        if isinstance(raw.get("weekly_cap"), int) and raw["weekly_cap"] >= 0:
            values["weekly_cap"] = raw["weekly_cap"]
        if isinstance(raw.get("review"), bool):
            values["review"] = raw["review"]
        if (
            isinstance(raw.get("country"), str)
            and raw["country"].upper() in holidays.list_supported_countries()
        ):
            values["country"] = raw["country"].upper()
        if isinstance(raw.get("holidays"), list):
            values["holidays"] = tuple(str(h) for h in raw["holidays"])
        for name in ("consumables", "durables"):
            if isinstance(raw.get(name), list):
                values[name] = tuple(str(word).strip().lower() for word in raw[name] if str(word).strip())
        return cls(**{**base.__dict__, **values})


@dataclass(frozen=True)
class Facts:
    """What the planner knows about a customer."""

    birthday: ParsedDate | None = None
    purchases: tuple[tuple[date, str], ...] = ()  # (day, items), any order
    grade: str | None = None
    via_rep: bool = False  # not on Telegram: the rep passes the message on
    buys: str | None = None  # the card's "what they buy": consumable, durable, or not known


CONSUMABLE, DURABLE = PURCHASE_KINDS


def purchase_kind(items: str, buys: str | None, rules: CareRules) -> str:
    """What a purchase was: consumable, durable, or "" when nothing says (no restock presumed).

    The team's words found in the items speak for that purchase; otherwise the card's
    "what they buy" speaks for the customer.
    """
    text = items.lower()
    if any(word in text for word in rules.consumables):
        return CONSUMABLE
    if any(word in text for word in rules.durables):
        return DURABLE
    return buys if buys in (CONSUMABLE, DURABLE) else ""


def message_language(customer: str | None, rep: str | None, team: str) -> str:
    """The language of a message to a customer: theirs, else their rep's, else the team's."""
    return customer or rep or team


@dataclass(frozen=True)
class Due:
    """One occasion on one day, with what its text needs."""

    occasion: Occasion
    day: date
    params: Mapping[str, Any] = field(default_factory=dict)


def occasions(facts: Facts, start: date, end: date, rules: CareRules) -> list[Due]:
    """The occasions a customer has from `start` to `end` (both included), by priority."""
    found: list[Due] = []
    if facts.birthday is not None:
        day = (
            facts.birthday.next_occurrence(start)
            if facts.birthday.year is None
            else _yearly(facts.birthday, start)
        )
        if day <= end:
            found.append(Due(Occasion.BIRTHDAY, day))
    if not facts.via_rep or facts.grade in rules.festivals_via_rep:
        for day, occasion, name in festivals_between(rules.country, rules.holidays, start, end):
            found.append(Due(occasion, day, {"holiday": name}))
    if facts.purchases:
        ordered = sorted(facts.purchases)
        first = ordered[0][0]
        by_day: dict[date, list[str]] = {}  # one follow-up a day names everything bought that day
        for bought, items in ordered:
            by_day.setdefault(bought, [])
            if items and items not in by_day[bought]:
                by_day[bought].append(items)
        for occasion, days in FOLLOWUPS.items():
            for bought, all_items in by_day.items():
                if start <= bought + timedelta(days=days) <= end:
                    params: dict[str, Any] = {"items": _items(all_items)}
                    if occasion is Occasion.FOLLOWUP_90:  # a restock, or how it is going
                        params["kind"] = _kind(all_items, facts.buys, rules)
                    found.append(Due(occasion, bought + timedelta(days=days), params))
        for year in range(start.year, end.year + 1):
            years = year - first.year
            anniversary = _same_day(first, year)
            if years > 0 and start <= anniversary <= end:
                found.append(Due(Occasion.ANNIVERSARY, anniversary, {"years": years}))
    wanted = [due for due in found if due.occasion.value in rules.occasions]
    return sorted(wanted, key=lambda due: (PRIORITY.index(due.occasion), due.day))


def _items(all_items: list[str]) -> str | tuple[str, ...]:
    """One purchase's items as they were typed; several of one day as a tuple (joined per language)."""
    if len(all_items) == 1:
        return all_items[0]
    return tuple(all_items) if all_items else ""


def _kind(all_items: list[str], buys: str | None, rules: CareRules) -> str:
    """A day's purchases are consumable if any of them is (a restock is worth asking about)."""
    kinds = {purchase_kind(items, buys, rules) for items in all_items or [""]}
    return next((kind for kind in (CONSUMABLE, DURABLE) if kind in kinds), "")


def _yearly(birthday: ParsedDate, start: date) -> date:
    """A birthday given with its year recurs every year (the year is the birth year)."""
    yearless = ParsedDate(
        None, birthday.month, birthday.day, lunar=birthday.lunar, leap_month=birthday.leap_month
    )
    return yearless.next_occurrence(start)


def _same_day(first: date, year: int) -> date:
    try:
        return first.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def festivals_between(
    country: str, names: Iterable[str], start: date, end: date
) -> list[tuple[date, Occasion, str]]:
    """The festivals to greet in a date range: (first day, occasion, English name)."""
    out = []
    for year in range(start.year, end.year + 1):
        for day, occasion, name in _festivals(country, tuple(names), year):
            if start <= day <= end:
                out.append((day, occasion, name))
    return out


@lru_cache(maxsize=64)
def _festivals(country: str, names: tuple[str, ...], year: int) -> tuple[tuple[date, Occasion, str], ...]:
    table = holidays.country_holidays(country, years=year, language="en_US")
    firsts: dict[str, date] = {}
    for day, name in sorted(table.items()):
        for part in str(name).split("; "):
            firsts.setdefault(part, day)
    out: list[tuple[date, Occasion, str]] = []
    if country == "CN":
        out += [(day, _CN_NAMES[name], name) for name, day in firsts.items() if name in _CN_NAMES]
        lantern = Lunar.fromYmd(year, 1, 15).getSolar()
        out.append(
            (date(lantern.getYear(), lantern.getMonth(), lantern.getDay()), Occasion.LANTERN, "Lantern")
        )
    else:
        out += [(day, Occasion.HOLIDAY, name) for name, day in firsts.items() if name in names]
    return tuple(sorted(out))


def holiday_name(country: str, day: date, english: str, lang: str) -> str:
    """A holiday's name in a language the library has for the country (else English)."""
    wanted = {"zh": "zh_CN", "en": "en_US"}.get(lang, "en_US")
    try:
        table = holidays.country_holidays(country, years=day.year, language=wanted)
    except (NotImplementedError, KeyError):
        return english
    names = str(table.get(day) or english).split("; ")
    return names[0] if names else english


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """A timezone by name, the fallback when it is missing or unknown."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def send_time(day: date, tz: ZoneInfo, rules: CareRules) -> datetime:
    """When to send on a day: the team's send hour in the customer's timezone, outside quiet hours."""
    hour = rules.send_hour
    if is_quiet(hour, rules):
        hour = rules.quiet_end
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def is_quiet(hour: int, rules: CareRules) -> bool:
    """Whether a local hour falls in the quiet hours (which may cross midnight)."""
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def own_time(day: date, at: time, tz: ZoneInfo, rules: CareRules) -> datetime:
    """A member's own time of day on `day` (their practice reminder), out of the quiet hours
    and on that day, in UTC.

    Inside quiet hours that end later that day (the early morning) it moves to their end;
    inside quiet hours that run on past midnight (the late evening) it moves back to the
    same minute of the hour before they begin: 06:30 → 08:00 and 22:30 → 20:30 with quiet
    hours from 21:00 to 08:00.
    """
    return datetime.combine(day, out_of_quiet(at, rules), tzinfo=tz).astimezone(UTC)


def out_of_quiet(at: time, rules: CareRules) -> time:
    """A local time of day moved out of the quiet hours on the same day (see `own_time`)."""
    if not is_quiet(at.hour, rules):
        return at
    return time(rules.quiet_end) if at.hour < rules.quiet_end else time(rules.quiet_start - 1, at.minute)


def next_allowed(moment: datetime, tz: ZoneInfo, rules: CareRules) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (in UTC)."""
    local = moment.astimezone(tz)
    if not is_quiet(local.hour, rules):
        return moment
    day = local.date() if local.hour < rules.quiet_end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(rules.quiet_end), tzinfo=tz).astimezone(UTC)


# ---------------------------------------------------------------- the planner's decisions


@dataclass(frozen=True)
class Decision:
    """What the planner does with an occasion: its status, why if skipped, and when it goes."""

    status: str  # review | planned | skipped
    reason: str | None
    due_at: datetime


def decide(day: date, tz: ZoneInfo, rules: CareRules, *, now: datetime, this_week: int) -> Decision:
    """Plan a message for `day`: at the send time, or skipped when too late or over the weekly cap.

    `this_week` is how many messages the customer already has in that ISO week. A message
    whose day has passed by the time quiet hours allow it is too late (a greeting the day
    after does harm); one beyond the cap is skipped so the customer is not flooded.
    """
    status, reason = ("review" if rules.review else "planned"), None
    due_at = send_time(day, tz, rules)
    if due_at < now:
        due_at = next_allowed(now, tz, rules)
        if due_at.astimezone(tz).date() != day:
            return Decision("skipped", "too_late", due_at)
    if this_week >= rules.weekly_cap:
        return Decision("skipped", "weekly_cap", due_at)
    return Decision(status, reason, due_at)


def no_longer_due(
    waiting: Iterable[tuple[int, str, date]], wanted: set[str], start: date, end: date
) -> list[int]:
    """Rows still waiting (id, key, day) in [start, end] whose occasion the cards no longer give.

    A corrected birthday, a purchase removed: the greeting planned for the old day must not
    go. Only the planner's own occasions are judged (a rep's one-off message is theirs).
    """
    return [
        row_id
        for row_id, key, day in waiting
        if start <= day <= end and key not in wanted and key.split(":")[1] in PLANNED
    ]


PLANNED = frozenset(o.value for o in Occasion)  # the occasions the planner makes (and unmakes)
