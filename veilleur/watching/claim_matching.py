"""Which open false claims a new mention repeats: pure logic, no storage.

A claim matches a mention when every word of one of its key phrases is in the mention (as whole words, case and
accents folded), or when the mention's text is a near copy of the claim's (the near-duplicate fingerprint stories
use: a SimHash within MAX_DISTANCE bits). The team edits the phrases; `propose_phrases` gives a first set from the
claim's distinctive words.

`ClaimIndex` is built once each time the set of open claims changes: each phrase is filed under its rarest-looking
word (the longest), so a mention only checks the phrases whose filing word it contains, and the fingerprints are
compared one by one (a XOR and a bit count each). 100 open claims cost a few microseconds per mention
(bench/bench_claims.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from veilleur.core.language import STOP_WORDS
from veilleur.core.mentions import Mention
from veilleur.core.query import fold
from veilleur.watching.stories import (
    FINGERPRINT_CHARS,
    MAX_DISTANCE,
    MIN_FINGERPRINT_WORDS,
    distance,
    folded_words,
    shingles,
    simhash,
)

# A proposed phrase holds this many of the claim's distinctive words: enough to say the claim, few enough that a
# rewording still holds them all.
PHRASE_WORDS = 3
PROPOSED_PHRASES = 2
# Words shorter than this say little on their own, unless they are numbers ("300 places", "2027").
MIN_PHRASE_WORD = 4
MAX_PHRASES = 20
MAX_PHRASE_CHARS = 200
_WORD = re.compile(r"\w+")
_LINK = re.compile(r"(?:https?://|www\.)\S+|@[\w.@-]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ClaimKeys:
    """What finds one claim: its key phrases and the fingerprint of its text (None for a short text)."""

    claim_id: int
    phrases: tuple[str, ...]
    fingerprint: int | None


def claim_fingerprint(text: str) -> int | None:
    """The claim text's fingerprint, as stories take a mention's; None when too short to tell apart."""
    words = folded_words(text[:FINGERPRINT_CHARS])
    if len(words) < MIN_FINGERPRINT_WORDS:
        return None
    return simhash(shingles(words))


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A key phrase's words as matching compares them."""
    return tuple(dict.fromkeys(folded_words(phrase)))


def parse_phrases(text: str) -> tuple[str, ...]:
    """The key phrases typed in the modal, one per line: trimmed, without blanks, repeats or wordless lines."""
    phrases: dict[tuple[str, ...], str] = {}
    for line in text.splitlines():
        phrase = " ".join(line.split())[:MAX_PHRASE_CHARS]
        words = phrase_words(phrase)
        if words and words not in phrases:
            phrases[words] = phrase
    return tuple(phrases.values())[:MAX_PHRASES]


def propose_phrases(text: str) -> tuple[str, ...]:
    """Key phrases for a claim: its most distinctive words (numbers, then the longest, not stop words), in the
    order the claim says them, PHRASE_WORDS to a phrase."""
    seen: dict[str, str] = {}  # folded: as written, in lower case
    for word in _WORD.findall(_LINK.sub(" ", text[:FINGERPRINT_CHARS]).casefold()):
        folded = fold(word)
        if folded not in seen and folded not in STOP_WORDS and (len(folded) >= MIN_PHRASE_WORD or folded.isdigit()):
            seen[folded] = word
    words = list(seen)
    ranked = sorted(words, key=lambda word: (not word.isdigit(), -len(word), words.index(word)))
    phrases = []
    for start in range(0, PHRASE_WORDS * PROPOSED_PHRASES, PHRASE_WORDS):
        chosen = set(ranked[start : start + PHRASE_WORDS])
        # A lone word left over would find far more than the claim.
        if chosen and len(chosen) >= min(2, len(words)):
            phrases.append(" ".join(seen[word] for word in words if word in chosen))
    return tuple(phrases)


class ClaimIndex:
    """The open claims, ready to be matched against many mentions."""

    def __init__(self, claims: Iterable[ClaimKeys]) -> None:
        self._by_word: dict[str, list[tuple[frozenset[str], int]]] = {}
        self._prints: list[tuple[int, int]] = []
        self.size = 0
        for claim in claims:
            self.size += 1
            for phrase in claim.phrases:
                words = phrase_words(phrase)
                if words:
                    key = max(words, key=len)
                    self._by_word.setdefault(key, []).append((frozenset(words), claim.claim_id))
            if claim.fingerprint is not None:
                self._prints.append((claim.fingerprint, claim.claim_id))

    def match(self, mention: Mention) -> list[int]:
        """The ids of the claims `mention` repeats, in increasing order."""
        if not self.size:
            return []
        words = folded_words(mention.title) + folded_words(mention.text[:FINGERPRINT_CHARS])
        found: set[int] = set()
        if self._by_word:
            present = set(words)
            for word in present.intersection(self._by_word):
                found.update(claim_id for needed, claim_id in self._by_word[word] if needed <= present)
        if self._prints and len(words) >= MIN_FINGERPRINT_WORDS:
            fingerprint = simhash(shingles(words))
            found.update(claim_id for other, claim_id in self._prints if distance(fingerprint, other) <= MAX_DISTANCE)
        return sorted(found)
