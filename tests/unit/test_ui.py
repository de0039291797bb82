"""Answering a button while its edit runs: both happen, and no error is lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from telegram import Update

from bot.telegram.ui import answer_while


class FakeQuery:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.answered = fail, asyncio.Event()

    async def answer(self) -> bool:
        await asyncio.sleep(0.01)
        self.answered.set()
        if self.fail:
            raise RuntimeError("query is too old")
        return True


def update_with(query: FakeQuery | None) -> Update:
    return cast(Update, type("U", (), {"callback_query": query})())


async def test_the_answer_and_the_work_overlap() -> None:
    query = FakeQuery()

    async def edit() -> str:
        # The answer is already on its way while the edit runs.
        await asyncio.wait_for(query.answered.wait(), 1)
        return "edited"

    assert await answer_while(update_with(query), edit()) == "edited"


async def test_without_a_button_only_the_work_runs() -> None:
    async def edit() -> str:
        return "sent"

    assert await answer_while(update_with(None), edit()) == "sent"


async def test_the_works_error_is_raised_and_a_failed_answer_logged(caplog: pytest.LogCaptureFixture) -> None:
    query = FakeQuery(fail=True)

    async def edit() -> Any:
        raise ValueError("edit failed")

    with caplog.at_level(logging.WARNING), pytest.raises(ValueError, match="edit failed"):
        await answer_while(update_with(query), edit())
    assert query.answered.is_set()
    assert any("query is too old" in r.getMessage() for r in caplog.records)


async def test_a_failed_answer_is_raised_after_the_work() -> None:
    query = FakeQuery(fail=True)
    done: list[str] = []

    async def edit() -> None:
        done.append("edited")

    with pytest.raises(RuntimeError, match="too old"):
        await answer_while(update_with(query), edit())
    assert done == ["edited"]
