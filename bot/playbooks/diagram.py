"""A playbook's step graph as a Mermaid flowchart (`salesbot playbooks diagram ID`)."""

from __future__ import annotations

from typing import Any

from bot.playbooks.model import SILENT, Branch, Checklist, Choice, Condition, End, Playbook, Tip

_SHAPES = {"end": ("([", "])"), "branch": ("{", "}"), "silent": ("[/", "/]"), "shown": ("[", "]")}
LABEL_MAX = 40


def mermaid(playbook: Playbook, lang: str = "en") -> str:
    """The flowchart: shown steps as boxes, branches as diamonds, silent writes slanted."""
    lines = ["flowchart TD", f"    %% {playbook.id}: {_clean(playbook.title.get(lang))}"]
    for step in playbook.steps:
        opening, closing = _SHAPES[_shape(step)]
        lines.append(f'    {step.id}{opening}"{_clean(_caption(step, lang))}"{closing}')
    for step in playbook.steps:
        for target, label in _edges(step, lang):
            arrow = f' -- "{_clean(label)}" --> ' if label else " --> "
            lines.append(f"    {step.id}{arrow}{target}")
    lines.append(f"    start((start)) --> {playbook.start}")
    return "\n".join(lines) + "\n"


def _shape(step: Any) -> str:
    if isinstance(step, End):
        return "end"
    if isinstance(step, Branch):
        return "branch"
    return "silent" if isinstance(step, SILENT) else "shown"


def _caption(step: Any, lang: str) -> str:
    if isinstance(step, End):
        return f"end: {step.outcome}"
    if isinstance(step, Branch):
        return step.id
    if isinstance(step, SILENT):
        detail = getattr(step, "field", None) or getattr(step, "stage", None) or getattr(step, "grade", None)
        detail = detail or getattr(step, "record", None) or getattr(step, "source", None) or ""
        return f"{step.kind} {detail}".strip()
    name = step.label.get(lang) if getattr(step, "label", None) else _first_line(step.text.get(lang))
    return f"{step.kind}: {name}" if not isinstance(step, Tip) else name


def _edges(step: Any, lang: str) -> list[tuple[str, str]]:
    if isinstance(step, Branch):
        return [(case.next, _condition(case.when)) for case in step.cases] + [(step.default, "else")]
    if isinstance(step, Choice):
        edges = [(o.next, o.label.get(lang)) for o in step.options if o.next]
        if step.next and any(o.next is None for o in step.options):
            edges.append((step.next, "other choices" if edges else ""))
        return edges
    nxt = getattr(step, "next", None)
    return [(nxt, "done" if isinstance(step, Checklist) else "")] if nxt else []


def _condition(cond: Condition) -> str:
    subject = "+".join(cond.total) if cond.total else cond.answer or ""
    tests = {
        "=": cond.is_,
        "in": ",".join(cond.in_) or None,
        "has": cond.contains,
        "ticks ≥": cond.count_at_least,
        "≥": cond.at_least,
        "≤": cond.at_most,
        "answered": cond.answered,
    }
    return " ".join(f"{subject} {op} {value}" for op, value in tests.items() if value is not None)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= LABEL_MAX else line[: LABEL_MAX - 1] + "…"


def _clean(text: str) -> str:
    """Mermaid labels in quotes: no quotes, brackets or template braces inside."""
    for bad, good in (('"', "'"), ("{{", ""), ("}}", ""), ("[", "("), ("]", ")"), ("\n", " ")):
        text = text.replace(bad, good)
    return text.strip()
