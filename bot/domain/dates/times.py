"""A time of day after a date (`上午`, `下午3点`, `15:30`, `tomorrow at 3pm`): split
off and kept as a part of the day or a clock time."""

from __future__ import annotations

import re
from typing import Final

from bot.domain.dates.forms import _CJK_RE, _cn_int

# ---------------------------------------------------------------------------
# Times of day: 上午, 下午3点, 15:30, morning, at 3pm

DAY_PARTS: Final = ("morning", "noon", "afternoon", "evening")
_CN_PARTS: Final = {
    "上午": "morning",
    "早上": "morning",
    "早晨": "morning",
    "一早": "morning",
    "中午": "noon",
    "下午": "afternoon",
    "傍晚": "evening",
    "晚上": "evening",
    "夜里": "evening",
}
_EN_PARTS: Final = {
    "morning": "morning",
    "noon": "noon",
    "midday": "noon",
    "lunchtime": "noon",
    "afternoon": "afternoon",
    "evening": "evening",
    "night": "evening",
}
_CN_HOUR: Final = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_CN_TIME_RE: Final = re.compile(
    rf"(?P<rest>.*?)\s*(?P<part>{'|'.join(_CN_PARTS)})?\s*"
    rf"(?:(?P<h>{_CN_HOUR})\s*[点时](?:(?P<half>半)|(?P<quarter>一刻)|(?P<m>\d{{1,2}}|[零〇一二三四五六七八九十]{{1,3}})分?)?"
    r"|(?P<hc>\d{1,2}):(?P<mc>\d{2}))?"
)
_EN_TIME_RE: Final = re.compile(
    r"(?P<rest>.*?)(?:^|\s+)"
    r"(?:(?:in the |at )?(?P<part>morning|noon|midday|lunchtime|afternoon|evening|night)"
    r"|(?:at |@ ?)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)"
    r"|(?:at |@ ?)(?P<ha>\d{1,2})(?::(?P<ma>\d{2}))?"
    r"|(?:at |@ ?)?(?P<hc>\d{1,2}):(?P<mc>\d{2}))"
)
# 今晚 = today in the evening; the others likewise.
_SHORT_DAYTIMES: Final = {
    "今晚": "今天晚上",
    "明晚": "明天晚上",
    "明早": "明天早上",
    "今早": "今天早上",
    "tonight": "today evening",
}


def _clock(hour: int, minute: int, part: str | None) -> str:
    """The clock time "15:30"; a part of the day shifts the hour (下午3点 = 15:00); ValueError if none."""
    later = part in ("afternoon", "evening") and 1 <= hour < 12
    if later or (part == "noon" and 1 <= hour <= 3):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"no such time: {hour}:{minute}")
    return f"{hour:02d}:{minute:02d}"


def _number(raw: str) -> int:
    value = _cn_int(raw)
    if value is None:
        raise ValueError(f"not a number: {raw}")
    return value


def _split_time(normal: str) -> tuple[str, str | None]:
    """("下周二", "morning") from "下周二上午", ("tomorrow", "15:00") from "tomorrow at 3pm".

    The text unchanged and None when it ends with no time of day; ValueError for
    a time that cannot be (25点, 10:75).
    """
    for short, long in _SHORT_DAYTIMES.items():
        if normal == short or normal.startswith(short if _CJK_RE.match(short) else short + " "):
            normal = long + normal[len(short) :]
            break
    cn = _CN_TIME_RE.fullmatch(normal) if _CJK_RE.search(normal) else None
    if cn is not None and (cn["part"] or cn["h"] or cn["hc"]):
        part = _CN_PARTS[cn["part"]] if cn["part"] else None
        if cn["hc"]:
            return cn["rest"], _clock(int(cn["hc"]), int(cn["mc"]), part)
        if cn["h"]:
            minute = 30 if cn["half"] else 15 if cn["quarter"] else _number(cn["m"]) if cn["m"] else 0
            return cn["rest"], _clock(_number(cn["h"]), minute, part)
        return cn["rest"], part
    en = _EN_TIME_RE.fullmatch(normal)
    if en is None:
        return normal, None
    if en["part"]:
        return en["rest"], _EN_PARTS[en["part"]]
    if en["ampm"]:
        hour = int(en["h"])
        if not 1 <= hour <= 12:
            raise ValueError(f"no such time: {hour}{en['ampm']}")
        hour = hour % 12 + (12 if en["ampm"].startswith("p") else 0)
        return en["rest"], _clock(hour, int(en["m"] or 0), None)
    if en["ha"]:
        return en["rest"], _clock(int(en["ha"]), int(en["ma"] or 0), None)
    return en["rest"], _clock(int(en["hc"]), int(en["mc"]), None)
