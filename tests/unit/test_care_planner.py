"""The planner's decisions (send time, too late, weekly cap, no longer due), without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.care import CareRules, decide, no_longer_due, zone

SHANGHAI = zone("Asia/Shanghai", "UTC")
RULES = CareRules()  # send at 10:00, quiet 21:00–08:00, at most 2 a week, no review


def test_a_message_for_a_coming_day_goes_at_the_send_hour() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    decision = decide(date(2026, 11, 25), SHANGHAI, RULES, now=now, this_week=0)
    assert (decision.status, decision.reason) == ("planned", None)
    assert decision.due_at.astimezone(SHANGHAI).hour == RULES.send_hour


def test_review_mode_waits_for_the_rep() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    decision = decide(date(2026, 11, 25), SHANGHAI, CareRules(review=True), now=now, this_week=0)
    assert decision.status == "review"


def test_todays_message_after_the_send_hour_goes_now() -> None:
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    decision = decide(date(2026, 11, 23), SHANGHAI, RULES, now=now, this_week=0)
    assert (decision.status, decision.due_at) == ("planned", now)


def test_a_day_that_ends_in_quiet_hours_is_too_late() -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: quiet until tomorrow
    decision = decide(date(2026, 11, 23), SHANGHAI, RULES, now=now, this_week=0)
    assert (decision.status, decision.reason) == ("skipped", "too_late")


def test_the_weekly_cap_skips_the_message_beyond_it() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    day = date(2026, 11, 25)
    assert decide(day, SHANGHAI, RULES, now=now, this_week=RULES.weekly_cap - 1).status == "planned"
    beyond = decide(day, SHANGHAI, RULES, now=now, this_week=RULES.weekly_cap)
    assert (beyond.status, beyond.reason) == ("skipped", "weekly_cap")


def test_only_the_planners_own_waiting_rows_in_the_window_are_no_longer_due() -> None:
    start, end = date(2026, 11, 23), date(2026, 11, 30)
    waiting = [
        (1, "7:birthday:2026-11-25", date(2026, 11, 25)),  # the birthday moved: not wanted now
        (2, "7:birthday:2026-11-27", date(2026, 11, 27)),  # the new day: still wanted
        (3, "7:one_off:2026-11-25:f1", date(2026, 11, 25)),  # the rep's own message: theirs
        (4, "7:followup_3:2026-12-05", date(2026, 12, 5)),  # beyond the window: not judged
    ]
    assert no_longer_due(waiting, {"7:birthday:2026-11-27"}, start, end) == [1]
