"""The in-memory record of recent users' roles and forms: fresh, bounded, forgettable."""

from __future__ import annotations

from bot.domain.access import Actor, Role
from bot.runtime import Identities
from bot.storage.models import FlowState


class Tick:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_update_and_can_be_forgotten() -> None:
    tick = Tick()
    known = Identities(ttl=60, clock=tick, size=3)
    rep = Actor(1, Role.REP, 10)
    known.remember(rep, None)
    assert known.get(1) is not None and known.get(1).actor == rep  # type: ignore[union-attr]
    form = FlowState(user_id=1, flow="note", step="body", data={}, nonce="abc123")
    known.set_flow(1, form)
    assert known.get(1).flow is form  # type: ignore[union-attr]
    tick.now += 61
    assert known.get(1) is None
    known.remember(rep, None)
    known.forget(1)
    assert known.get(1) is None


def test_the_record_stays_bounded() -> None:
    known = Identities(ttl=60, clock=Tick(), size=3)
    for user_id in range(10):
        known.remember(Actor(user_id, Role.REP, 1), None)
    assert sum(known.get(i) is not None for i in range(10)) <= 3


def test_an_entry_read_while_someone_was_forgotten_is_not_kept() -> None:
    # A rep's update reads their role; meanwhile a lead removes them and forgets their entry.
    known = Identities(ttl=60, clock=Tick())
    read_at = known.stamp()
    known.forget(1)
    known.remember(Actor(1, Role.REP, 10), None, read_at=read_at)
    assert known.get(1) is None  # the next update reads the database again
    read_at = known.stamp()
    known.remember(Actor(1, Role.STRANGER, None), None, read_at=read_at)
    assert known.get(1) is not None
