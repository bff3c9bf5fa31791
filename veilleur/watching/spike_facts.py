"""What a spike alert is made of: the watcher's volume against its usual one, and the facts and summary the alert
shows. Detection (spikes.py) computes them and the alert card (spike_cards.py) draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import StanceTally

# The least "usual" volume a spike is measured against: with no history, SPIKE_FACTOR mentions an hour.
BASELINE_FLOOR = 1.0


@dataclass(frozen=True, slots=True)
class Volume:
    """A watcher's last hour, (start, end], against its usual volume. `history` holds the count of each baseline
    day's window, yesterday first; `baseline` is their mean (0.0 when there is none)."""

    watcher: str
    start: datetime
    end: datetime
    recent: int
    history: tuple[int, ...]

    @property
    def baseline(self) -> float:
        return sum(self.history) / len(self.history) if self.history else 0.0

    @property
    def reference(self) -> float:
        """What the last hour is compared with: the baseline, or the floor when the baseline is lower."""
        return max(self.baseline, BASELINE_FLOOR)


@dataclass(frozen=True, slots=True)
class SpikeMention:
    id: int
    mention: Mention
    at: datetime  # when it counts (see spikes.py's module docstring)

    @property
    def interactions(self) -> int:
        return sum(value for value in self.mention.engagement.values() if isinstance(value, int))


@dataclass(frozen=True, slots=True)
class SpikeFacts:
    """What an alert says, all computed by spikes.py: `terms` and `sources` are (name, mentions) pairs, most first."""

    volume: Volume
    terms: tuple[tuple[str, int], ...]
    sources: tuple[tuple[str, int], ...]
    top: tuple[SpikeMention, ...]
    sample: tuple[SpikeMention, ...]
    stances: StanceTally | None = None  # of `sample`: effective stances, estimates counted as such


@dataclass(frozen=True, slots=True)
class SpikeSummary:
    """`fallback` is None when the LLM wrote `text`; else it says why not (a reason of LLMUnavailable, with
    `detail`) and `text` is the most representative mention's, by `author` on `source`. All outside text."""

    text: str
    fallback: str | None = None
    detail: str | Phrase = ""
    author: str = ""
    source: str = ""
