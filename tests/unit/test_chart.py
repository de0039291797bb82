"""The digest chart: a phone-sized PNG whose Chinese text is drawn with a CJK font."""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

from bot.services.chart import ChartData, figure, font_path, render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TITLE = "销售团队 · 11月22日"
STAGES = [
    "寻找客户",
    "评估客户",
    "准备接近",
    "讲解示范",
    "处理异议",
    "促成交易",
    "售后服务",
    "已成交",
    "未成交",
]
FUNNEL, ACTIVITY, NOTES, WINS = "销售漏斗", "每日活动", "记录", "成交"
ALL_CHINESE = "".join([TITLE, FUNNEL, ACTIVITY, NOTES, WINS, *STAGES])
DEJAVU = findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=False)


def _days(count: int, notes: int = 30, wins: int = 2) -> list[tuple[str, int, int]]:
    return [(f"11-{day:02d}", notes + day % 7, wins * (day % 3)) for day in range(1, count + 1)]


def _chinese(
    counts: list[int] | None = None, days: list[tuple[str, int, int]] | None = None, title: str = TITLE
) -> ChartData:
    counts = counts if counts is not None else [120, 80, 64, 41, 30, 18, 12, 25, 9]
    return ChartData(
        title=title,
        funnel_title=FUNNEL,
        stages=list(zip(STAGES, counts, strict=True)),
        activity_title=ACTIVITY,
        days=days if days is not None else _days(14),
        notes_label=NOTES,
        wins_label=WINS,
    )


def _warnings_during(action: Callable[[], object]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # "default" would hide a warning already shown once
        action()
    return [str(warning.message) for warning in caught]


def _missing_glyphs(action: Callable[[], object]) -> list[str]:
    return [message for message in _warnings_during(action) if "missing from font" in message]


def _draw_text(font_file: str, text: str) -> None:
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.05, 0.5, text, fontproperties=FontProperties(fname=font_file, size=14))
    fig.canvas.draw()


def _drawn(fig: Figure) -> list[Text]:
    """The texts of a drawn figure that show something."""
    fig.canvas.draw()
    # The funnel hides its whole x axis: the labels inside it are never drawn.
    hidden = {
        id(text)
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
        if not axis.get_visible()
        for text in axis.findobj(Text)
    }
    return [
        text
        for text in fig.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text() and id(text) not in hidden
    ]


def _extent(text: Text) -> Bbox:
    return text.get_window_extent()


def test_render_gives_a_small_phone_sized_png() -> None:
    png = render(_chinese())

    assert png.startswith(PNG_MAGIC)
    assert len(png) < 300_000
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (960, 1080)
        darkest, lightest = cast(tuple[int, int], image.convert("L").getextrema())
    assert darkest < 80 and lightest == 255  # dark ink on a white page, not a blank picture


def test_the_registered_font_has_every_chinese_character_of_the_labels() -> None:
    path = font_path()
    assert path.endswith("NotoSansCJKsc-Regular.otf")
    assert path in {entry.fname for entry in fontManager.ttflist}

    cjk = FT2Font(path)
    assert [ch for ch in ALL_CHINESE if not ch.isspace() and cjk.get_char_index(ord(ch)) == 0] == []
    # The same check on matplotlib's default font does find gaps, so it can fail.
    dejavu = FT2Font(DEJAVU)
    assert dejavu.get_char_index(ord("漏")) == 0


def test_the_missing_glyph_check_catches_a_font_without_chinese() -> None:
    # Matplotlib's default font cannot draw these labels and says so: the check below is real.
    assert _missing_glyphs(lambda: _draw_text(DEJAVU, ALL_CHINESE))
    assert _missing_glyphs(lambda: _draw_text(font_path(), ALL_CHINESE)) == []


def test_a_chinese_chart_draws_every_glyph() -> None:
    assert _missing_glyphs(lambda: render(_chinese())) == []


def test_every_text_in_the_chart_uses_the_cjk_font_at_a_readable_size() -> None:
    texts = _drawn(figure(_chinese()))

    shown = {text.get_text() for text in texts}
    assert {TITLE, FUNNEL, ACTIVITY, NOTES, WINS, *STAGES, "120", "11-14"} <= shown
    assert {text.get_fontproperties().get_file() for text in texts} == {font_path()}
    assert min(text.get_fontproperties().get_size_in_points() for text in texts) >= 13
    titles = [text for text in texts if text.get_text() in {TITLE, FUNNEL, ACTIVITY}]
    assert min(text.get_fontproperties().get_size_in_points() for text in titles) >= 18


def test_an_empty_team_renders_without_any_warning() -> None:
    empty = _chinese(counts=[0] * 9, days=[(day, 0, 0) for day, _, _ in _days(7)])
    pngs: list[bytes] = []

    assert _warnings_during(lambda: pngs.append(render(empty))) == []
    assert pngs[0].startswith(PNG_MAGIC)


def test_a_month_of_days_and_huge_counts_stay_readable() -> None:
    counts = [100_000, 85_000, 1_234_567, 40_000, 0, 999, 5, 0, 12]
    data = _chinese(counts=counts, days=_days(31, notes=40_000, wins=700))

    assert _warnings_during(lambda: render(data)) == []
    fig = figure(data)
    texts = _drawn(fig)
    page = fig.bbox
    for text in texts:  # nothing runs off the picture
        box = _extent(text)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, text
    funnel, activity = fig.axes[:2]
    counts_shown = sorted((_extent(text) for text in funnel.texts), key=lambda box: box.y0)
    assert len(counts_shown) == 9
    assert all(low.y1 <= high.y0 for low, high in itertools.pairwise(counts_shown))
    days_shown = sorted(
        (_extent(label) for label in activity.get_xticklabels() if label.get_text()), key=lambda box: box.x0
    )
    assert 4 <= len(days_shown) <= 10  # thinned, not 31 labels on top of each other
    assert all(left.x1 < right.x0 for left, right in itertools.pairwise(days_shown))
    assert activity.get_xticklabels()[-1].get_text() == "11-31"  # the newest day is always named


def test_text_the_font_cannot_draw_is_left_out_rather_than_shown_as_boxes() -> None:
    data = _chinese(title="销售团队 🚀 · 11月")

    assert _missing_glyphs(lambda: render(data)) == []
    shown = {text.get_text() for text in _drawn(figure(data))}
    assert "销售团队 · 11月" in shown


def test_worker_threads_render_the_same_picture() -> None:
    data = _chinese()
    expected = render(data)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(render, [data] * 4))

    assert results == [expected] * 4
