"""Write nonces: refused when used again with the same initData, forgotten once it expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.web.server import Nonces

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_a_nonce_is_good_once_per_initdata() -> None:
    nonces = Nonces()
    until = NOW + timedelta(days=1)
    assert nonces.use(data_hash="a", nonce="n1", until=until, now=NOW)
    assert not nonces.use(data_hash="a", nonce="n1", until=until, now=NOW)
    assert nonces.use(data_hash="b", nonce="n1", until=until, now=NOW)
    assert nonces.use(data_hash="a", nonce="n2", until=until, now=NOW)


def test_expired_entries_are_dropped_but_live_ones_kept() -> None:
    nonces = Nonces(tidy_at=3)
    nonces.use(data_hash="old", nonce="1", until=NOW, now=NOW)
    nonces.use(data_hash="old", nonce="2", until=NOW, now=NOW)
    nonces.use(data_hash="live", nonce="3", until=NOW + timedelta(hours=1), now=NOW)
    later = NOW + timedelta(minutes=1)
    assert nonces.use(data_hash="live", nonce="4", until=later + timedelta(hours=1), now=later)
    assert set(nonces.used) == {("live", "3"), ("live", "4")}
    assert not nonces.use(data_hash="live", nonce="3", until=later + timedelta(hours=1), now=later)
