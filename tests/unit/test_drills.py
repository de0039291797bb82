"""The shipped drills (drills/*.toml) against the method: enough of them, every kind, every
technique of bot/domain/methodology.py trained by at least two, both languages everywhere, and
the right answers spread over the options (not always first, not always the longest)."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

from bot.domain import methodology
from bot.practice.check import drill_files, load_all
from bot.practice.model import KINDS, TOPICS, ChoiceDrill, ClosingDrill, SignalDrill, Text

DRILLS = load_all()


def test_there_are_enough_drills_of_every_kind_and_topic() -> None:
    active = DRILLS.active()
    assert len(active) >= 150
    kinds = Counter(drill.kind for drill in active)
    assert set(kinds) == set(KINDS), kinds
    topics = Counter(drill.topic for drill in active)
    assert set(topics) == set(TOPICS), topics


def test_every_technique_is_trained_by_at_least_two_drills() -> None:
    covered = Counter(technique for drill in DRILLS.active() for technique in set(drill.covers))
    everything = {technique for techniques in methodology.REQUIRED.values() for technique in techniques}
    thin = sorted(technique for technique in everything if covered[technique] < 2)
    assert thin == [], thin


def _texts(value: object) -> list[Text]:
    if isinstance(value, Text):
        return [value]
    if isinstance(value, tuple):
        return [text for item in value for text in _texts(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [text for f in fields(value) for text in _texts(getattr(value, f.name))]  # type: ignore[arg-type]
    return []


def test_every_text_is_written_in_both_languages_and_differs_between_them() -> None:
    for drill in DRILLS.active():
        texts = _texts(drill)
        assert texts, drill.id
        for text in texts:
            assert text.zh.strip() and text.en.strip(), drill.id
            if len(text.en) > 12:  # a sentence, not a label such as "A-B-D-C"
                assert text.zh != text.en, (drill.id, text)  # not one copied over
                assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh), (drill.id, text.zh)


def test_the_right_answer_is_not_given_away_by_its_place() -> None:
    places: Counter[int] = Counter()
    for drill in DRILLS.active():
        if isinstance(drill, ChoiceDrill):
            places[[option.id for option in drill.options].index(drill.answer)] += 1
        elif isinstance(drill, ClosingDrill | SignalDrill) and drill.options and drill.method:
            places[list(drill.options).index(drill.method)] += 1
    total = sum(places.values())
    assert total > 100
    assert max(places.values()) < 0.5 * total, places


def test_the_files_are_the_ones_in_the_folder() -> None:
    assert len(drill_files()) >= 8
