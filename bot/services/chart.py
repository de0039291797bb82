"""The team lead's digest chart (pipeline funnel and daily activity) as a phone-sized PNG."""

from __future__ import annotations

import io
import itertools
import math
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ft2font import FT2Font
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import MaxNLocator

FONT_PACKAGE = "mplfonts"
FONT_FILE = "NotoSansCJKsc-Regular.otf"

# 8 x 9 inches at 120 dpi = 960 x 1080 px: portrait, sharp on a phone, small as a PNG.
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 9.0, 120

# Telegram shows the picture shrunk to the phone's width, so everything is set large.
TITLE_PT, PANEL_PT, LABEL_PT, VALUE_PT = 22, 18, 14, 14

INK = "#1f2937"
MUTED = "#4b5563"
GRID = "#e5e7eb"
FUNNEL_TOP, FUNNEL_BOTTOM = "#1e3a8a", "#60a5fa"
NOTES_COLOUR, NOTES_INK = "#7aa7f0", "#2f5fb3"
WINS_COLOUR = "#e8590c"

MAX_DAY_LABELS = 8  # "11-09" at 14 pt: eight fit side by side without rotating
MIN_STAGE_ROWS = 6
MAX_STAGE_COLUMNS = 16  # 8 Chinese or 16 Latin characters; longer names would squeeze the bars
VALUE_ROOM = 1.22  # x range past the longest bar, where its count ("1,234,567") is written

_font_lock = threading.Lock()
_font: tuple[str, frozenset[int]] | None = None


@dataclass(frozen=True)
class ChartData:
    title: str  # e.g. "销售团队 · 11月22日" (already localised)
    funnel_title: str  # e.g. "销售漏斗" / "Pipeline"
    stages: list[tuple[str, int]]  # (stage label, customers), in pipeline order; 9 at most
    activity_title: str  # e.g. "每日活动" / "Daily activity"
    days: list[tuple[str, int, int]]  # (short day label like "11-09", notes, purchases); 7 to 31
    notes_label: str  # legend label, e.g. "记录" / "Notes"
    wins_label: str  # legend label, e.g. "成交" / "Sales"


def render(data: ChartData) -> bytes:
    """The chart as PNG bytes."""
    fig = figure(data)
    buffer = io.BytesIO()
    # No "Software: matplotlib x.y" text chunk: the same data gives the same bytes on any version.
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def figure(data: ChartData) -> Figure:
    """The chart as a matplotlib Figure (drawn only when saved)."""
    path, _ = _registered_font()
    layout = ConstrainedLayoutEngine(h_pad=0.12, w_pad=0.12, hspace=0.12)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout=layout, facecolor="white")
    FigureCanvasAgg(fig)  # the Agg canvas attaches itself; no pyplot, so no global state
    funnel, activity = fig.subplots(2, 1, height_ratios=[1, 1])
    fig.suptitle(_clean(data.title), x=0.03, ha="left", color=INK, fontproperties=_font_at(path, TITLE_PT))
    _draw_funnel(funnel, data, path)
    _draw_activity(activity, data, path)
    return fig


def font_path() -> str:
    """The CJK font file every text in the chart uses, registered with matplotlib."""
    return _registered_font()[0]


def _registered_font() -> tuple[str, frozenset[int]]:
    # A lock, not functools.cache: two worker threads must not both add the font to
    # matplotlib's shared font list (cache may run the function twice under a race).
    global _font
    with _font_lock:
        if _font is None:
            path = _locate_font()
            fontManager.addfont(path)
            # Characters the font has, so that text it cannot draw (emoji in a team name) is
            # dropped rather than shown as empty boxes.
            _font = path, frozenset(FT2Font(path).get_charmap())
        return _font


def _locate_font() -> str:
    try:
        resource = resources.files(FONT_PACKAGE) / "fonts" / FONT_FILE
    except ModuleNotFoundError as error:
        raise RuntimeError(f"The chart needs the {FONT_PACKAGE!r} package (for {FONT_FILE})") from error
    # FreeType needs a real file; the package is installed as a plain directory, not zipped.
    if not isinstance(resource, Path) or not resource.is_file():
        raise RuntimeError(f"The {FONT_PACKAGE!r} package has no fonts/{FONT_FILE} file")
    return str(resource)


def _font_at(path: str, size: float) -> FontProperties:
    return FontProperties(fname=path, size=size)


def _clean(text: str) -> str:
    """The text without characters the font cannot draw."""
    _, charmap = _registered_font()
    kept = "".join(ch for ch in text if ch.isspace() or ord(ch) in charmap)
    return " ".join(kept.split())


def _shorten(text: str, limit: int) -> str:
    """The text cut to `limit` columns, a CJK character counting as two (it is twice as wide)."""
    text = _clean(text)
    if sum(map(_columns, text)) <= limit:
        return text
    kept, used = [], 1  # one column for the ellipsis
    for ch in text:
        used += _columns(ch)
        if used > limit:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"


def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _shades(count: int) -> list[str]:
    """Colours from dark (top of the funnel) to light (bottom)."""
    (r0, g0, b0), (r1, g1, b1) = to_rgb(FUNNEL_TOP), to_rgb(FUNNEL_BOTTOM)
    steps = max(count - 1, 1)
    return [
        to_hex((r0 + (r1 - r0) * t, g0 + (g1 - g0) * t, b0 + (b1 - b0) * t))
        for t in (i / steps for i in range(count))
    ]


def _tidy(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, length=0, pad=6)


def _draw_funnel(ax: Axes, data: ChartData, path: str) -> None:
    labels = [_shorten(label, MAX_STAGE_COLUMNS) for label, _ in data.stages]
    counts = [max(count, 0) for _, count in data.stages]
    rows = list(range(len(counts)))
    _tidy(ax)
    ax.spines["bottom"].set_visible(False)
    ax.barh(rows, counts, height=0.72, color=_shades(len(counts)))
    # Fixed limits: all-zero counts would otherwise make matplotlib pick an odd 0..0 range.
    ax.set_xlim(0, max([*counts, 1]) * VALUE_ROOM)
    # First stage at the top; rows keep their height when a pipeline has only a few stages.
    ax.set_ylim(max(len(counts), MIN_STAGE_ROWS) - 0.5, -0.5)
    value_font = _font_at(path, VALUE_PT)
    for row, count in zip(rows, counts, strict=True):
        # Offset in points so the gap beside the bar is the same whatever the numbers.
        ax.annotate(
            f"{count:,}",
            xy=(count, row),
            xytext=(6, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            color=INK,
            fontproperties=value_font,
        )
    ax.set_yticks(rows, labels=labels, fontproperties=_font_at(path, LABEL_PT), color=INK)
    ax.xaxis.set_visible(False)  # every bar carries its count; a scale would only add clutter
    ax.set_title(
        _clean(data.funnel_title), loc="left", pad=10, color=INK, fontproperties=_font_at(path, PANEL_PT)
    )


def _draw_activity(ax: Axes, data: ChartData, path: str) -> None:
    label_font = _font_at(path, LABEL_PT)
    count = len(data.days)
    xs = list(range(count))
    notes = [max(n, 0) for _, n, _ in data.days]
    wins = [max(w, 0) for _, _, w in data.days]
    _tidy(ax)
    ax.spines["left"].set_visible(False)

    bars = ax.bar(xs, notes, width=0.7, color=NOTES_COLOUR, zorder=2)
    notes_ticks = _integer_ticks(max([*notes, 0]))
    ax.set_ylim(0, notes_ticks[-1])
    ax.set_yticks(notes_ticks, labels=[f"{t:,}" for t in notes_ticks], fontproperties=label_font)
    ax.set_xlim(-0.6, count - 0.4)
    ax.grid(axis="y", color=GRID, linewidth=1, zorder=0)
    ax.set_axisbelow(True)

    # Purchases are far fewer than notes, so they get their own scale on the right; its
    # ticks sit on the same grid lines so one grid serves both.
    twin = ax.twinx()
    _tidy(twin)
    for side in ("left", "right", "bottom"):
        twin.spines[side].set_visible(False)
    intervals = len(notes_ticks) - 1
    step = _nice_step(max([*wins, 0]) / intervals)
    wins_ticks = [step * i for i in range(intervals + 1)]
    (line,) = twin.plot(
        xs, wins, color=WINS_COLOUR, linewidth=2.5, marker="o", markersize=6, zorder=3, clip_on=False
    )
    twin.set_ylim(0, wins_ticks[-1])
    twin.set_yticks(wins_ticks, labels=[f"{t:,}" for t in wins_ticks], fontproperties=label_font)

    # Thinned day labels, counted back from the newest day so the latest one is always named.
    # Only the named days get ticks: 31 mostly unlabelled tick objects would just slow the render.
    every = math.ceil(count / MAX_DAY_LABELS) if count else 1
    named = xs[(count - 1) % every :: every]
    ax.set_xticks(
        named,
        labels=[data.days[i][0] for i in named],
        fontproperties=label_font,
        color=INK,
    )
    # Each scale is printed in its series' colour, so the two are not confused.
    ax.tick_params(axis="y", labelcolor=NOTES_INK)
    twin.tick_params(axis="y", labelcolor=WINS_COLOUR)

    ax.set_title(
        _clean(data.activity_title), loc="left", pad=12, color=INK, fontproperties=_font_at(path, PANEL_PT)
    )
    ax.legend(
        [bars, line],
        [_clean(data.notes_label), _clean(data.wins_label)],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        frameon=False,
        borderaxespad=0.3,
        handlelength=1.5,
        columnspacing=1.2,
        prop=label_font,
        labelcolor=INK,
    )


def _integer_ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 to at least `top` (0 to 4 for an empty team)."""
    values = MaxNLocator(nbins=4, integer=True, min_n_ticks=3).tick_values(0, max(top, 4))
    ticks = [int(v) for v in values if v >= 0]
    while ticks[-1] < top:  # the locator may stop short of the highest bar
        ticks.append(ticks[-1] + ticks[1] - ticks[0])
    return ticks


def _nice_step(minimum: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that is at least `minimum`."""
    step, factors = 1, itertools.cycle((2, 2.5, 2))
    while step < minimum:
        step = int(step * next(factors))
    return step
