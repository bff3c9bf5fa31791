"""Stances of messages toward what a conversation discusses, and their exact counts and shares.

`classify_lexically` is the word-list estimate used when no LLM labels a message (and for any message the LLM left
unlabelled). It is an estimate (the digest and the extractive summary say their stances come from simple word
rules) and is never stored. It reads French and English cue words and phrases, turns a cue around under a negation
("je ne suis pas contre", "not great"), reads the common signs of irony ("Génial, encore une panne… merci la
mairie" is against), and makes a message a question only when it takes no side. `bench/bench_stance.py` measures
it on the hand-labelled set in `tests/fixtures/stance/`. Counts and shares are always computed here, never by a
model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from veilleur.core.query import fold

LABELS = ("for", "against", "neutral", "question")

# --- Word lists ------------------------------------------------------------------------------------------------
# Plain data, written with accents and folded like the text when the module loads. Entries are separated by "|";
# a phrase matches whole words, the longest entry first ("pas mal" before "pas").

_POSITIVE = """
    super | génial | géniale | top | bravo | merci | enfin | excellent | excellente | excellents | réussi | réussie |
    réussis | réussies | réussite | parfait | parfaite | impeccable | nickel | magnifique | formidable | merveilleux |
    merveilleuse | chouette | superbe | belle | beau | bien | bon | bonne | content | contente | contents | ravi |
    ravie | satisfait | satisfaite | adore | adorent | aime | aimons | pratique | efficace | rapide | rapidement |
    rassurant | raisonnable | favorable | favorables | soutiens | soutient | soutenons | soutenir | soutien |
    vivement | chapeau | félicitations | progrès | amélioration | confortable | propre | propres | utile | accord |
    intérêt | convaincu | convaincue | fan | oui | plaisir | agréable | bienvenue | redemande | de ouf | je suis pour |
    je vote pour | voté pour | ça fait du bien | bien joué | quelle réussite |
    love | loved | loving | great | good | amazing | awesome | stunning | brilliant | wonderful | fantastic |
    thrilled | happy | glad | kudos | thanks | thank | impressed | impressive | convenient | useful | helpful |
    safer | smooth | worth | support | supports | finally | nice | perfect | improvement | welcome | congrats |
    congratulations | yes | best | better | approve | genius | well done | step forward | grown on me
"""
_NEGATIVE = """
    contre | honte | honteux | honteuse | scandale | scandaleux | scandaleuse | nul | nulle | nuls | inadmissible |
    inacceptable | gaspillage | gâchis | mauvais | mauvaise | catastrophe | catastrophique | ridicule | inutile |
    colère | marre | retard | retards | panne | pannes | bouchons | embouteillages | cher | chère | chers | absurde |
    mensonge | mensonges | menteur | incompétent | incompétents | dangereux | dangereuse | pire | déçu | déçue |
    dommage | opposé | opposée | oppose | refus | lamentable | choquant | choquante | abusé | méprisant | mépris |
    défigurer | atteinte | bruit | bruyant | sale | sales | saleté | déborde | débordent | rats | problème |
    problèmes | souci | soucis | regrette | dérange | insécurité | jpp | galère | horreur | horrible | impossible |
    tué | suppression | supprimer | supprimé | supprimée | abattu | queue | fermé | fermée | fermés | fermées |
    fermeture | n'importe quoi | du vol | à bout | une fortune | trop de |
    against | opposed | bad | terrible | awful | hate | shame | shameful | disgrace | scandal | waste | wrong | worst |
    worse | angry | ridiculous | useless | failure | fail | late | delay | delays | delayed | broken | breakdown |
    expensive | disaster | nonsense | lies | corrupt | incompetent | absurd | pathetic | disappointed |
    disappointing | unacceptable | outrageous | dangerous | trash | trashed | ruin | disgusting | gridlock |
    stranded | suffering | pointless | potholes | confusing | noise | litter | problem | complain | dragged on |
    remove | removing | cut | cuts | cutting | closing | closed | crash | crashes | crashed
"""
_POSITIVE_EMOJI = "👍 ❤ 👏 😍 🥰 🙏 🎉 😊 🙂 💪 👌 🥳 💚 💙"
_NEGATIVE_EMOJI = "👎 😡 🤬 😤 🤢 🤮 😠 💩 😞 😢"
# Fixed negations, one cue each and never turned around again: "pas terrible" is bad, "pas mal" is good.
_FIXED_POSITIVE = "pas mal | pas si mal | rien à redire | rien à dire"
_FIXED_NEGATIVE = """
    pas terrible | pas fou | pas ouf | pas normal | pas clair | toujours pas | toujours rien | toujours aucun |
    still not | still no
"""
# Doubt, not a complaint: the negation of "je ne sais pas" turns nothing around and complains of nothing.
_UNDECIDED = "je ne sais pas | je sais pas | j'en sais rien | on verra | not sure | we'll see"
_NEGATORS = """
    ne | n | pas | jamais | rien | aucun | aucune | ni | sans | guère |
    not | no | never | nothing | nobody | none | neither | nor | without | hardly | barely | cannot
"""
# After a negation, these carry it to the clause they introduce: "je ne pense pas que ce soit une bonne idée".
_OPINION_VERBS = "pense | pensons | crois | croyons | think | believe"
_INTENSIFIERS = "très | trop | vraiment | totalement | absolument | tellement | really | very | so | totally"
_CONTRASTS = "mais | pourtant | cependant | quand même | but | however | though"
# Irony that needs nothing else: it counts against on its own and turns the message's praise around.
_IRONY = """
    quelle surprise | comme d'hab | comme d'habitude | une fois de plus | merci pour rien | ça faisait longtemps |
    qu'ils disaient | what a surprise | as usual | once again | thanks for nothing | they said | /s
"""
_IRONY_EMOJI = "🙄 🤡 🙃 😒 🤦"
# Questions nobody expects answered: they count twice against, so their question mark makes no question.
_RHETORICAL = """
    qui aurait pu prévoir | qui l'eût cru | on fait comment | fait quoi | à quoi ça sert | who could have |
    what could go wrong | how are we supposed | who is paying | what's the point
"""
# Ironic next to praise, unless praise follows them: "Génial, encore une panne" but "encore merci".
_REPEAT = "encore | again | another"
# Ironic next to praise, whatever follows: "toujours aussi efficace" is said of what never works.
_SAME_AS_EVER = "toujours aussi | bien sûr | of course"
# Ironic after praise ("génial le nouveau site mdr"), not before it ("mdr le tram est trop confortable").
_LAUGHTER = "mdr | mdrr | ptdr | lol | lmao | xd | haha"
# Skipped when looking at what "encore" repeats: "encore une belle soirée" repeats praise.
_ARTICLES = "un | une | des | le | la | les | a | an | the"
# Words a news title does not use.
_PERSONS = (
    "je | j | me | moi | mon | ma | mes | nous | nos | notre | on | vous | tu | i | my | we | our | us | you | your"
)

_NEGATION_SCOPE = 6  # words after a negator that it can turn around, within its clause
_CLEAR_SIDE = 2  # with a question mark, a message is a question unless its cues lean this far to one side
_INTENSIFIED = 2  # words after an intensifier whose cues count double

# Words and single signs; apostrophes and hyphens split words and are dropped ("n'est" -> "n", "est").
_TOKEN = re.compile(r"\w+|[^\w\s'’-]")
_NOT = re.compile(r"n['’]t\b")  # "isn't" -> "is not": English negation as a word of its own
_EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")
_SCARE_QUOTES = re.compile(r"«\s*\w+(?:[\s'’-]+\w+){0,2}\s*»|\"\w+(?:[\s'’-]+\w+){0,2}\"")
_HEADLINE_TOPIC = re.compile(r"^[^:!?.]{2,40} : ")
_HEADLINE_SOURCE = re.compile(
    r", (?:denonce|annonce|precise|affirme|estime|selon|reclame|alerte)\b|\b(?:calls|says|slams|warns|claims)\b"
)
_NE = frozenset(("ne", "n"))
_RESTRICTION = frozenset(("que", "qu"))  # "ne … que" restricts: "n'a duré que trois semaines"
_CLAUSE_END = frozenset('.,;:!?()«»"')


class _Entry(NamedTuple):
    """A listed word or phrase. `fixed` ones mean the same whatever surrounds them: a fixed negation is never
    turned around again, an emoji is not negated, "toujours aussi" is ironic before praise too."""

    words: tuple[str, ...]
    kind: str
    fixed: bool


_NO_ENTRY = _Entry((), "", False)


def _entries(listing: str) -> list[tuple[str, ...]]:
    return [tuple(_TOKEN.findall(fold(entry))) for entry in listing.split("|") if entry.strip()]


def _lexicon() -> dict[str, list[_Entry]]:
    """First word -> the entries starting with it, longest first."""
    listings = [
        (_POSITIVE, "positive", False), (_NEGATIVE, "negative", False),
        (_FIXED_POSITIVE, "positive", True), (_FIXED_NEGATIVE, "negative", True), (_UNDECIDED, "undecided", True),
        (_NEGATORS, "negator", False), (_OPINION_VERBS, "opinion", False),
        (_INTENSIFIERS, "intensifier", False), (_CONTRASTS, "contrast", False),
        (_IRONY, "irony", False), (_RHETORICAL, "rhetorical", False),
        (_REPEAT, "repeat", False), (_SAME_AS_EVER, "repeat", True), (_LAUGHTER, "laughter", False),
    ]  # fmt: skip
    entries = [_Entry(words, kind, fixed) for listing, kind, fixed in listings for words in _entries(listing)]
    emoji = [(_POSITIVE_EMOJI, "positive"), (_NEGATIVE_EMOJI, "negative"), (_IRONY_EMOJI, "irony")]
    entries += [_Entry((char,), kind, True) for listing, kind in emoji for char in listing.split()]
    lexicon: dict[str, list[_Entry]] = {}
    for entry in sorted(entries, key=lambda entry: -len(entry.words)):
        lexicon.setdefault(entry.words[0], []).append(entry)
    return lexicon


_LEXICON = _lexicon()
_NOTABLE = frozenset(_LEXICON) | _CLAUSE_END | _RESTRICTION
_ARTICLE_WORDS = frozenset(words[0] for words in _entries(_ARTICLES))
_PERSON_WORDS = frozenset(words[0] for words in _entries(_PERSONS))


# --- Reading one message -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Negation:
    in_question: bool
    weight: float  # doubled after a contrast, like the cues
    ne_alone: bool  # a "ne" still without its "pas": a "que" then makes it a restriction
    turned: bool = False  # it turned a cue around


@dataclass(slots=True)
class _Reading:
    """What the cues of one message add up to, before irony and questions are decided."""

    statement: float = 0.0  # cues outside questions
    question: float = 0.0  # cues in sentences ending with "?"
    praise: float = 0.0  # positive cues, already in the two above, which irony turns against
    praise_in_question: float = 0.0
    complaints: int = 0  # negative words and phrases, not turned around
    ironic_signs: int = 0
    repeated: bool = False
    laughter_after_praise: bool = False
    contrast: bool = False
    negations: list[_Negation] = field(default_factory=list)

    def add(self, value: float, in_question: bool) -> None:
        if in_question:
            self.question += value
        else:
            self.statement += value

    def add_praise(self, value: float, in_question: bool) -> None:
        self.add(value, in_question)
        self.praise += value
        self.praise_in_question += value if in_question else 0.0


def classify_lexically(text: str) -> str:
    """The stance of one message (one of LABELS), as the word list estimates it."""
    folded = _NOT.sub(" not", fold(text))
    words = _TOKEN.findall(folded)
    if _is_headline(text, folded, words):
        return "neutral"
    questions = _in_questions(words)
    reading = _read(words, questions)
    _count_scare_quotes(reading, text)
    _count_complaint_by_negation(reading)
    statement, question = _after_irony(reading)
    if any(questions) and statement == 0 and abs(question) < _CLEAR_SIDE:
        return "question"
    total = statement + question
    if total > 0:
        return "for"
    if total < 0:
        return "against"
    return "question" if any(questions) else "neutral"


def _is_headline(text: str, folded: str, words: list[str]) -> bool:
    """A news or RSS title reports, so it is neutral even when it quotes an opinion ("« un gâchis », dénonce
    l'opposition"). Titles end without a full stop, say neither "I" nor "you", carry no emoji, and start with a
    topic and a French spaced colon ("Tramway : …") or name who said it. A post's "Budget vote: shame" is none."""
    stripped = text.rstrip()
    if not stripped or stripped[-1] in ".!?…" or _EMOJI.search(stripped):
        return False
    if not _PERSON_WORDS.isdisjoint(words):
        return False
    return bool(_HEADLINE_TOPIC.match(folded) or _HEADLINE_SOURCE.search(folded))


def _in_questions(words: list[str]) -> list[bool]:
    """For each word, whether its sentence ends with a question mark: only there can a message ask."""
    flags = [False] * len(words)
    if "?" not in words:
        return flags
    start = 0
    for index, word in enumerate(words):
        if word in "?.!" and (index + 1 == len(words) or words[index + 1] not in "?.!"):
            if "?" in words[start : index + 1]:
                flags[start : index + 1] = [True] * (index + 1 - start)
            start = index + 1
    return flags


def _read(words: list[str], in_question: list[bool]) -> _Reading:
    """Read the listed words and phrases in order, phrases first. A negation turns around the first cue among the
    next few words of its clause; an intensifier doubles the cue right after it, a contrast ("mais", "but") every
    cue after it, since what follows a "but" is what the author means. Only listed words and clause ends are
    visited: most words of a mention are neither, and this runs on every mention of a digest."""
    reading = _Reading()
    negation_end = 0  # the open negation reaches the words before this index
    boost_end = 0  # the last intensifier doubles the cues before this index
    after_contrast = 1.0
    resume = 0  # the end of the last phrase read
    for index in [index for index, word in enumerate(words) if word in _NOTABLE]:
        if index < resume:
            continue
        word = words[index]
        entry = _match(words, index)
        if not entry.words:
            if index < negation_end and (word in _CLAUSE_END or _restricts(reading, word)):
                negation_end = 0
            continue
        end = index + len(entry.words)
        negated = index < negation_end
        weight = (2.0 if index < boost_end else 1.0) * after_contrast
        kind = entry.kind
        if kind in ("positive", "negative"):
            polarity = 1 if kind == "positive" else -1
            if negated:
                polarity, negation_end = _turn(reading, polarity, entry.fixed), 0
                end += _match(words, end).kind == "negator"  # the "pas" of "ne regrette pas"
            if polarity > 0:
                reading.add_praise(weight, in_question[index])
            else:
                reading.add(-weight, in_question[index])
                reading.complaints += kind == "negative"
        elif kind == "negator":
            _negate(reading, word, in_question[index], after_contrast, negated)
            negation_end = end + _NEGATION_SCOPE
        elif kind == "opinion" and negated:
            negation_end += _NEGATION_SCOPE  # "not think … good": the negation reaches the opinion's own clause
        elif kind == "undecided" and negated:
            reading.negations[-1].turned = True
        elif kind == "intensifier":
            boost_end = end + _INTENSIFIED
        elif kind == "contrast":
            reading.contrast, after_contrast, negation_end = True, 2.0, 0
        elif kind in ("irony", "rhetorical"):
            reading.ironic_signs += 1
            rhetorical = kind == "rhetorical"
            reading.add(-2.0 if rhetorical else -1.0, in_question[index] and not rhetorical)
        elif kind == "repeat":
            reading.repeated |= entry.fixed or not _repeats_praise(words, end)
        elif kind == "laughter":
            reading.laughter_after_praise |= reading.praise > 0
        resume = end
    return reading


def _match(words: list[str], index: int) -> _Entry:
    """The longest listed entry starting at `index`."""
    if index < len(words):
        for entry in _LEXICON.get(words[index], ()):
            length = len(entry.words)  # the first word is the key: a one-word entry matches at once
            if length == 1 or tuple(words[index : index + length]) == entry.words:
                return entry
    return _NO_ENTRY


def _negate(reading: _Reading, word: str, in_question: bool, weight: float, negated: bool) -> None:
    """Open a negation, or complete the open one: "ne … pas" is one negation, not two."""
    if negated:
        reading.negations[-1].ne_alone = False
    else:
        reading.negations.append(_Negation(in_question, weight, ne_alone=word in _NE))


def _turn(reading: _Reading, polarity: int, fixed: bool) -> int:
    """The polarity of a cue under the open negation: turned around ("pas contre" is for), except a fixed
    negation, which completes it ("ce n'est pas terrible" stays bad)."""
    reading.negations[-1].turned = True
    return polarity if fixed else -polarity


def _restricts(reading: _Reading, word: str) -> bool:
    """A "ne … que" restricts rather than denies ("n'a duré que trois semaines"): that "ne" is no negation."""
    if word in _RESTRICTION and reading.negations[-1].ne_alone:
        reading.negations.pop()
        return True
    return False


def _repeats_praise(words: list[str], index: int) -> bool:
    """Whether "encore" or "again" is followed by praise ("encore merci", "another great year"): no irony then."""
    if index < len(words) and words[index] in _ARTICLE_WORDS:
        index += 1
    return _match(words, index).kind == "positive"


def _count_scare_quotes(reading: _Reading, text: str) -> None:
    """« Guillemets » or quotes around one to three words mock them: la « concertation », the "temporary" car park.
    Headlines, whose quotes report speech, never get here."""
    quoted = len(_SCARE_QUOTES.findall(text))
    reading.ironic_signs += quoted
    reading.add(-quoted, False)


def _count_complaint_by_negation(reading: _Reading) -> None:
    """A negation that turns no cue around complains of something missing: "pas de bus", "ne répond jamais",
    "never kept" are what residents write to a town hall against it. Counted once per message."""
    for negation in reading.negations:
        if not negation.turned:
            reading.add(-negation.weight, negation.in_question)
            return


def _is_ironic(reading: _Reading) -> bool:
    """Praise is ironic when a sign says so: an ironic phrase or emoji, scare quotes, "encore" or "again" beside
    it, a laugh after it ("génial le nouveau site mdr"), or a complaint in the same breath with no "mais" to make
    it a concession ("quelle réussite, trois mois de retard")."""
    if reading.ironic_signs:
        return True
    if reading.praise <= 0:
        return False
    return reading.repeated or reading.laughter_after_praise or (reading.complaints > 0 and not reading.contrast)


def _after_irony(reading: _Reading) -> tuple[float, float]:
    """The statement and question scores, with praise counted against when the message is ironic."""
    if not _is_ironic(reading):
        return reading.statement, reading.question
    in_statements = reading.praise - reading.praise_in_question
    return reading.statement - 2 * in_statements, reading.question - 2 * reading.praise_in_question


# --- Counting --------------------------------------------------------------------------------------------------


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
