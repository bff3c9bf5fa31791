"""The one stance a mention has, wherever it is shown or counted: the team's correction, else the model's label,
else the word list's estimate (stances.classify_lexically), with which of the three it is.

The digest, spike alerts, summaries, cards and the retention purge's counts all go through `effective_stance`, so
they never disagree about a mention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from veilleur.core.stances import LABELS, StanceShare, classify_lexically, tally

# Who gave a stance, strongest first.
BY_TEAM, BY_MODEL, BY_ESTIMATE = "team", "model", "estimate"
STANCE_BY = (BY_TEAM, BY_MODEL, BY_ESTIMATE)


@dataclass(frozen=True, slots=True)
class Stance:
    label: str  # one of stances.LABELS
    by: str  # one of STANCE_BY

    @property
    def estimated(self) -> bool:
        """Only the word list's estimate: what is shown says so."""
        return self.by == BY_ESTIMATE


def effective_stance(text: str, *, team: str | None = None, model: str | None = None) -> Stance:
    """The team's stance, else the model's, else the word list's estimate of `text` (computed only then)."""
    if team in LABELS:
        return Stance(team, BY_TEAM)
    if model in LABELS:
        return Stance(model, BY_MODEL)
    return Stance(classify_lexically(text), BY_ESTIMATE)


@dataclass(frozen=True, slots=True)
class StanceTally:
    """The shares of some mentions' stances (LABELS order, adding up to 100) and how many came from each source."""

    shares: tuple[StanceShare, ...]
    by: tuple[tuple[str, int], ...]  # (one of STANCE_BY, count), STANCE_BY order, zeros left out

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by)

    @property
    def estimated(self) -> int:
        return dict(self.by).get(BY_ESTIMATE, 0)

    @property
    def all_estimated(self) -> bool:
        """Every stance counted is the word list's estimate (and there is at least one)."""
        return 0 < self.total == self.estimated


def tally_stances(stances: Sequence[Stance]) -> StanceTally:
    counts = {by: 0 for by in STANCE_BY}
    for stance in stances:
        counts[stance.by] += 1
    return StanceTally(
        shares=tuple(tally([stance.label for stance in stances])),
        by=tuple((by, count) for by, count in counts.items() if count),
    )


