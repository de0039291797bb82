"""Which customers a reminder's text names (bot.domain.mentions)."""

from __future__ import annotations

import pytest

from bot.domain.mentions import Named, mentioned

CUSTOMERS = [
    Named(1, ("刘洋",)),
    Named(2, ("张伟", "老张")),
    Named(3, ("张伟明",)),
    Named(4, ("Anna Li",)),
    Named(5, ("Ann",)),
    Named(6, ("刘洋",)),
    Named(7, ("王",)),
]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("给刘洋打电话", [1, 6]),  # two customers of that name: both, to ask
        ("给张伟打电话", [2]),
        ("给张伟明打电话", [3]),  # the longer name, not 张伟 inside it
        ("问问老张报价", [2]),  # a nickname
        ("先找张伟，再找刘洋", [2, 1, 6]),
        ("call anna li", [4]),
        ("CALL ＡＮＮＡ LI", [4]),
        ("call Anna", []),  # Ann is not a word in it
        ("call Ann tomorrow", [5]),
        ("给王总打电话", []),  # one-character names are not matched
        ("整理报价单", []),
    ],
)
def test_mentioned(text: str, ids: list[int]) -> None:
    assert mentioned(text, CUSTOMERS) == ids
