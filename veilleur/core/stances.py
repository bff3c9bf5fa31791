"""Stances of messages toward what a conversation discusses, and their exact counts and shares.

`classify_lexically` is the deterministic classifier used when no LLM answers (and for any message the LLM left
unlabelled): English and French cue words, a negation just before a cue flips it, and a question mark makes a
question unless the message also takes a clear side. Counts and shares are always computed here, never by a model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LABELS = ("for", "against", "neutral", "question")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_POSITIVE = _words(
    """
    support supports supported supporting agree agreed agrees great good excellent love loved like likes thanks
    thank bravo finally welcome happy glad best better nice awesome approve approved favour favor useful helpful
    brilliant perfect congratulations congrats improvement improved win yes
    merci super génial géniale excellente bien bon bonne enfin soutien soutiens soutenons soutenir favorable
    favorables accord content contente contents ravi ravie top parfait parfaite utile réussite félicitations
    adore aime aimons bravo formidable chouette oui
    """
)
_NEGATIVE = _words(
    """
    against oppose opposed opposes bad terrible awful hate hated shame shameful disgrace scandal scandalous waste
    wrong worst worse angry ridiculous useless failure fail fails failed delay delays delayed late broken
    expensive disaster nonsense lies lie liar corrupt incompetent absurd pathetic disappointed disappointing
    unacceptable outrageous dangerous stop never
    contre honte honteux scandale scandaleux nul nulle nuls inadmissible inacceptable gaspillage mauvais
    mauvaise catastrophe catastrophique ridicule inutile colère marre retard retards cher chère chers absurde
    mensonge mensonges menteur menteurs incompétent incompétents dangereux dangereuse pire déçu déçue déçus
    dommage arrêtez opposé opposée opposés refus refuse refusons stop honteuse lamentable
    """
)
# "not", "n't" (as "t" after "don"), "ne … pas", "jamais"... within the three words before a cue.
_NEGATORS = _words(
    "not no nothing neither nor cannot isn aren wasn weren don doesn didn won wouldn shouldn t ne pas jamais rien "
    "aucun aucune ni sans"
)
_NEGATION_WINDOW = 3
_WORD = re.compile(r"\w+", re.UNICODE)
# With a question mark, a message is a question unless its cues lean this far to one side.
_CLEAR_SIDE = 2


def classify_lexically(text: str) -> str:
    """"for", "against", "neutral" or "question" for one message."""
    words = _WORD.findall(text.casefold())
    score = 0
    for position, word in enumerate(words):
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        if not polarity:
            continue
        before = words[max(0, position - _NEGATION_WINDOW) : position]
        after = words[position + 1 : position + 2]
        # French puts "pas" after the verb: "je ne suis pas d'accord", "ce n'est pas bien".
        negated = any(w in _NEGATORS for w in before) or (after == ["pas"])
        score += -polarity if negated else polarity
    if "?" in text and abs(score) < _CLEAR_SIDE:
        return "question"
    if score > 0:
        return "for"
    if score < 0:
        return "against"
    return "neutral"


@dataclass(frozen=True, slots=True)
class StanceShare:
    label: str
    count: int
    percent: int


def tally(labels: Sequence[str]) -> list[StanceShare]:
    """Count each stance (in LABELS order) with whole percentages that add up to exactly 100.

    Largest remainder: each share is rounded down, then the points still missing go to the largest remainders,
    ties to the stance listed first, so 1/3 each is 34/33/33 and never 33/33/33.
    """
    total = len(labels)
    counts = {label: 0 for label in LABELS}
    for label in labels:
        counts[label] += 1
    if total == 0:
        return [StanceShare(label, 0, 0) for label in LABELS]
    floors = {label: counts[label] * 100 // total for label in LABELS}
    missing = 100 - sum(floors.values())
    by_remainder = sorted(LABELS, key=lambda label: (-(counts[label] * 100 % total), LABELS.index(label)))
    for label in by_remainder[:missing]:
        floors[label] += 1
    return [StanceShare(label, counts[label], floors[label]) for label in LABELS]


@dataclass(frozen=True, slots=True)
class Scores:
    """How well predicted stances match the expected ones.

    `macro_f1` is the unweighted mean of each label's F1 over the labels present in either list, so a rare label
    (questions) weighs as much as a common one and a label absent from both does not count as a failure.
    `confusion` counts each (expected, predicted) pair.
    """

    count: int
    accuracy: float
    macro_f1: float
    confusion: Mapping[tuple[str, str], int]


def score(expected: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Accuracy, macro-F1 and the confusion counts of `predicted` against `expected` (same length)."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels but {len(predicted)} predicted")
    confusion = Counter(zip(expected, predicted, strict=True))
    if not expected:
        return Scores(0, 0.0, 0.0, confusion)
    correct = sum(count for (wanted, got), count in confusion.items() if wanted == got)
    f1s = []
    for label in LABELS:
        hits = confusion[(label, label)]
        wanted = sum(count for (want, _), count in confusion.items() if want == label)
        got = sum(count for (_, given), count in confusion.items() if given == label)
        if wanted or got:
            f1s.append(2 * hits / (wanted + got))
    return Scores(len(expected), correct / len(expected), sum(f1s) / len(f1s), confusion)
