"""Chinese numerals as people type them in dates and amounts (零 and 〇, 二 and 两)."""

from __future__ import annotations

from typing import Final

CN_DIGITS: Final = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
