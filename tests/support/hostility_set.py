"""The labelled set of hostile and ordinary posts (tests/fixtures/hostility/labelled.jsonl) and the word list's
scores on it, for the floor test and bench_hostility.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

LABELLED = Path(__file__).resolve().parent.parent / "fixtures" / "hostility" / "labelled.jsonl"


@dataclass(frozen=True, slots=True)
class LabelledPost:
    text: str
    lang: str
    hostile: bool
    category: str | None
    kind: str  # hostile, hard_negative or ordinary
    split: str  # "tuning" (the rules were adjusted on it) or "holdout" (written after, measured as it came)


@dataclass(frozen=True, slots=True)
class Scores:
    posts: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        hostile = self.true_positives + self.false_negatives
        return self.true_positives / hostile if hostile else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def labelled_posts() -> list[LabelledPost]:
    posts = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        posts.append(LabelledPost(row["text"], row["lang"], row["hostile"], row["category"], row["kind"],
                                  row.get("split", "tuning")))
    return posts


def scores(posts: Sequence[LabelledPost], is_hostile: Callable[[str], bool]) -> Scores:
    found = [(post.hostile, is_hostile(post.text)) for post in posts]
    return Scores(
        posts=len(found),
        true_positives=sum(1 for expected, got in found if expected and got),
        false_positives=sum(1 for expected, got in found if got and not expected),
        false_negatives=sum(1 for expected, got in found if expected and not got),
    )
