"""Which playbooks fit a customer's stage, and the order the ▶️ Play menu offers them in.

A sales rule, so it lives here and not in a handler: the playbooks that list the
customer's stage are suggested (⭐, described, first); the others follow, each list in
the playbooks' own order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class Suits(Protocol):
    """Anything that names the stages it suits (a playbook)."""

    @property
    def stages(self) -> Sequence[str]:
        """The stages it suits."""
        ...


P = TypeVar("P", bound=Suits)


def fits(playbook: Suits, stage: str) -> bool:
    """Whether a playbook suits a customer at this stage."""
    return stage in playbook.stages


@dataclass(frozen=True)
class Suggestion(Generic[P]):
    """The playbooks for a customer: those that fit their stage, then the rest."""

    fitting: list[P]
    others: list[P]

    @property
    def ordered(self) -> list[P]:
        """All of them, the fitting ones first (the menu's order)."""
        return [*self.fitting, *self.others]


def suggest(playbooks: Iterable[P], stage: str) -> Suggestion[P]:
    """Split the playbooks (in their order) into those that fit the stage and the others."""
    fitting: list[P] = []
    others: list[P] = []
    for playbook in playbooks:
        (fitting if fits(playbook, stage) else others).append(playbook)
    return Suggestion(fitting, others)
