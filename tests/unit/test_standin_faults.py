"""The stand-in's faults: 5xx without effect, a late answer after the effect, a dropped connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from botapi_standin import BotApiStandIn

USER = 1001


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    """A running stand-in with one user who started the bot."""
    async with BotApiStandIn() as server:
        server.add_user(USER, "李娜", started=True)
        yield server


@pytest.fixture
async def http(standin: BotApiStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for the Bot API endpoint of the stand-in."""
    async with httpx.AsyncClient(base_url=f"{standin.base_url}{standin.token}/", timeout=0.5) as client:
        yield client


async def test_a_5xx_fault_answers_telegrams_error_without_sending(
    standin: BotApiStandIn, http: httpx.AsyncClient
) -> None:
    standin.faults.add("sendMessage", "5xx", times=2, status=503)
    for _ in range(2):
        response = await http.post("sendMessage", data={"chat_id": USER, "text": "hi"})
        assert response.status_code == 503
        assert response.json() == {"ok": False, "error_code": 503, "description": "Service Unavailable"}
    assert standin.messages(USER) == []
    response = await http.post("sendMessage", data={"chat_id": USER, "text": "hi"})
    assert response.status_code == 200 and len(standin.messages(USER)) == 1
    assert [(r.status, r.fault) for r in standin.requests] == [(503, "5xx"), (503, "5xx"), (200, None)]
    assert standin.requests[0].params == {"chat_id": USER, "text": "hi"}


async def test_a_slow_answer_comes_after_the_message_was_sent(
    standin: BotApiStandIn, http: httpx.AsyncClient
) -> None:
    standin.faults.add("sendMessage", "slow_after", delay=2.0)
    with pytest.raises(httpx.ReadTimeout):
        await http.post("sendMessage", data={"chat_id": USER, "text": "hi"})
    assert [m.text for m in standin.messages(USER)] == ["hi"]
    assert [(r.status, r.fault) for r in standin.requests] == [(200, "slow_after")]


async def test_a_dropped_connection_has_no_answer_and_no_effect(
    standin: BotApiStandIn, http: httpx.AsyncClient
) -> None:
    standin.faults.add("sendMessage", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post("sendMessage", data={"chat_id": USER, "text": "hi"})
    assert standin.messages(USER) == []
    assert [(r.status, r.fault) for r in standin.requests] == [(0, "drop")]


async def test_faults_apply_in_order_per_method_and_are_checked(standin: BotApiStandIn) -> None:
    first = standin.faults.add("getUpdates", "5xx", status=502)
    second = standin.faults.add("getUpdates", "slow_after", delay=1.0)
    standin.faults.add("sendMessage", "5xx")
    assert standin.faults.take("getMe") is None
    assert standin.faults.take("getUpdates") is first
    assert standin.faults.take("getUpdates") is second
    assert [f.method for f in standin.faults.pending] == ["sendMessage"]
    standin.faults.clear()
    assert standin.faults.pending == []
    with pytest.raises(ValueError, match="not a Bot API method"):
        standin.faults.add("sendMesage", "5xx")
    with pytest.raises(ValueError, match="5xx fault"):
        standin.faults.add("sendMessage", "5xx", status=429)
    with pytest.raises(ValueError, match="slow_after"):
        standin.faults.add("sendMessage", "slow_after")
    with pytest.raises(ValueError, match="times"):
        standin.faults.add("sendMessage", "drop", times=0)
