"""Hostile posts: insults, threats, slurs and dehumanising words aimed at people, in French and English.

This word list is the estimate used when no LLM labelled a post (`mentions.hostile_model`, storage/labels.py), and
for a Slack message or a URL given to /draft. It says what a post does to a person or a group; it never labels the
person who wrote it (no "troll" on anyone: see the README's data protection rules).

The rule behind the data below:
- hostile: an insult aimed at a person or a group ("espèce de connard", "t'es qu'un bouffon", "vous êtes des
  cons", "you're an idiot", "bande d'incapables"), a threat or a death wish ("on sait où tu habites", "je vais te
  buter", "go kill yourself"), a slur or "sale" + a group ("sale arabe"), words that deny people their humanity
  ("ces gens sont des rats", "subhuman");
- not hostile: anger at a situation and crude words about a thing ("c'est de la merde ce chantier", "putain encore
  des travaux", "quel bordel", "ce projet est débile", "this is bullshit"). The post is against something; it is
  not abuse. Words that are insults only in some uses ("ordures" is also the rubbish collected, "bâtard" a loaf,
  "retard" a delay in French) count only in the forms that aim them at someone.

The text is folded (case, accents) and cut into words, so a word inside another never matches ("conseil",
"Scunthorpe", "connexion"). Leetspeak inside a word ("c0nnard", "a$$hole", "b!tch"), a letter repeated three times
or more ("connnnard", "idiooot") and one starred letter ("c*nnard", "f*ck") are read as the known word they can be.

The slurs are a short list of the common French and English ones, not an exhaustive lexicon. Rules are written as
word patterns (`_compile`): slots separated by spaces, alternatives by "|", `{name}` a word list of LISTS, `~` any
word, a slot ending in "?" optional and in "*" repeated up to three times; "." stands for the end of a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import product

from veilleur.core.mentions import Mention
from veilleur.core.query import fold
from veilleur.core.text import title_then_text

CATEGORIES = ("threat", "harassment", "dehumanising", "insult")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


LISTS: dict[str, frozenset[str]] = {
    # Insults that name a person by the insult: hostile wherever they appear.
    "insult": _words(
        """
        connard connards connarde connasse connasses conard conards salope salopes salopard salopards salaud salauds
        enfoire enfoires enfoiree encule encules enculee enculees cretin cretins cretine cretines imbecile imbeciles
        pouffiasse pouffiasses petasse petasses grognasse pute putes fdp ntm
        asshole assholes arsehole arseholes cunt cunts dickhead dickheads motherfucker motherfuckers scumbag scumbags
        wanker wankers twat twats douchebag douchebags dumbass dumbasses jackass jackasses moron morons shithead
        shitheads dipshit dipshits knobhead bellend whore whores slut sluts skank skanks
        """
    ),
    # French insult nouns: hostile aimed at someone ("quel con", "ce bouffon", "t'es un idiot", "vous êtes cons").
    "fr_noun": _words(
        """
        con cons conne connes bouffon bouffons bouffonne guignol guignols idiot idiots idiote idiotes abruti abrutis
        abrutie debile debiles tocard tocards tocarde naze nazes baltringue baltringues pignouf pignoufs cassos beauf
        beaufs larbin larbins tare tares taree attarde attardes mongol mongols gogol gogols
        """
    ),
    # French insults that are also ordinary words ("les ordures" are collected on Tuesdays, a "bâtard" is a loaf,
    # the festival has a clown): only in "espèce de …", "sale …", "quel …", "t'es un …".
    "fr_literal": _words(
        """
        clown clowns blaireau blaireaux boulet boulets charlot charlots batard batards andouille andouilles ordure
        ordures pourriture pourritures porc porcs chien chiens
        """
    ),
    # Criticism rather than insults, except in "bande de …", "espèce de …", "sale …".
    "fr_weak": _words(
        """
        incapable incapables incompetent incompetents incompetente incompetentes voleur voleurs menteur menteurs
        escroc escrocs vendu vendus feignasse feignasses faineant faineants feignant feignants branleur branleurs
        glandeur glandeurs nul nuls nulle nulles
        """
    ),
    # French insult adjectives: said of someone ("t'es débile", "le maire est con"), never of a thing ("ce projet
    # est débile").
    "fr_adjective": _words(
        """
        con cons conne connes debile debiles stupide stupides idiot idiote idiots idiotes minable minables pourri
        pourris pourrie tare tares attarde attardes abruti abrutis
        """
    ),
    "en_noun": _words("idiot idiots loser losers fool fools jerk jerks prick pricks dimwit dimwits halfwit halfwits "
                      "nitwit nitwits tosser tossers"),
    # English insults that are also ordinary words (a clown, a pig, "parking is a bitch", a "bastard" of a job).
    "en_literal": _words("clown clowns pig pigs bitch bitches bastard bastards muppet muppets scum"),
    "en_weak": _words("incompetents crooks liars thieves"),
    # English insult adjectives: "you're stupid", "the mayor is dumb", never "what a stupid idea".
    "en_adjective": _words("stupid dumb pathetic worthless idiotic brainless retarded trash garbage"),
    "slur": _words(
        """
        pede pedes tarlouze tarlouzes gouine gouines travelo travelos bougnoule bougnoules youpin youpins youpine
        bicot bicots crouille crouilles chinetoque chinetoques negre negres negresse negro negros niakoue niakoues
        romanos
        nigger niggers nigga niggas faggot faggots kike kikes spic spics tranny trannies paki pakis wetback wetbacks
        raghead ragheads
        """
    ),
    # Groups of people, for "sale …", "dirty …", "mort aux …".
    "fr_group": _words(
        """
        arabe arabes juif juifs juive juives noir noirs noire noires musulman musulmans musulmane musulmanes rebeu
        rebeus renoi renois chinois chinoise chinoises asiatique asiatiques gitan gitans gitane gitanes rom roms
        migrant migrants migrante migrantes immigre immigres immigree immigrees etranger etrangers etrangere
        etrangeres homo homos gay gays lesbienne lesbiennes trans francais francaise blanc blancs blanche blanches
        catho cathos race
        """
    ),
    "en_group": _words("jew jews arab arabs muslim muslims immigrant immigrants migrants mexican mexicans blacks gays"
                       " queers"),
    # People, as the subject of "… est con", "… sont des rats", "mort aux …".
    "fr_person": _words(
        """
        maire maires adjoint adjointe adjoints elu elue elus elues conseiller conseillere conseillers president
        presidente ministre ministres prefet prefete depute deputee deputes senateur journaliste journalistes gens
        fonctionnaires flics keufs policiers mec mecs type types gars meuf meufs nana nanas voisin voisins
        manifestants politiques politiciens
        """
    ),
    "en_person": _words("mayor mayors councillor councillors councilman councilwoman guy guys dude people officials "
                        "politicians cops he she"),
    "dehumanising": _words(
        """
        animaux betes rats cafards parasites vermine vermines porcs singes macaques cloportes microbes sauvages
        degeneres consanguins animals cockroaches vermin pigs apes monkeys savages degenerates subhumans
        """
    ),
    # Words that may stand between a cue and the insult: "t'es qu'un gros …", "you're such a fucking …".
    "filler": _words(
        """
        un une des qu que juste vraiment trop completement tellement totalement gros grosse grand grande sale sales
        pauvre pauvres vieux vieille petit petite sacre sacree putain de d bon bonne vrai vraie veritable tous toutes
        comme la les rien autre
        a an such so the biggest complete total absolute utter fucking fuckin bloody little big fat stupid dumb ugly
        real right one of just all like nothing but pathetic sad miserable lying useless
        """
    ),
}

# (category, pattern). Threats first: a post that threatens and insults is told as a threat.
RULES: tuple[tuple[str, str], ...] = (
    # Threats and death wishes
    ("threat", "je|j|on|nous|ils|quelqu|faut|faudrait|va|vais|vas|allons|vont|veux|devrait|devrais|doit "
               "te|t|vous tuer|buter|egorger|decapiter|defoncer|pendre|fusiller|abattre|flinguer|lyncher"),
    ("threat", "je|j|on|nous|ils|va|vais|vas|allons|vont|veux te|t|vous "
               "faire|fais|casser|casse|peter|pete|exploser|explose|eclater|eclate la|ta|votre|vos peau|gueule|jambes"),
    ("threat", "sait|sais|savons|connait|connais|connaissons|trouve|trouverons|trouvera ou "
               "tu|vous|t habites|habitez|vis|vivez|dors|dormez|travailles|travaillez"),
    ("threat", "connait|connais|connaissons ton|votre adresse"),
    ("threat", "mettre|coller|loger|tirer une balle"),
    ("threat", "balle dans|entre ta|tes|vos tete|yeux"),
    ("threat", "surveille|surveillez tes|vos arrieres"),
    ("threat", "gare a toi|vous"),
    ("threat", "va|vas|allez|aller te|vous pendre|suicider"),
    ("threat", "pends|pendez|suicide|suicidez|tue|tuez toi|vous"),
    ("threat", ".|toi|et|mais va|allez|vas crever|mourir"),
    ("threat", "allez|crevez|mourez tous|toutes crever|mourir|."),
    ("threat", "que|qu tu|vous|il|elle|ils|elles creves|creviez|crevent|creve|meures|mouriez|meurent|meure"),
    ("threat", "merites|meritez|meritent de|d crever|mourir"),
    ("threat", "merites|meritez|meritent d etre pendu|pendus|abattu|abattus|fusille|fusilles|tue|tues"),
    ("threat", "mort aux|a {fr_group}|{fr_person}|{fr_noun}|{insult}"),
    ("threat", "kill|hang|shoot|stab|burn yourself|yourselves|urself"),
    ("threat", "kys"),
    ("threat", "go die|drown"),
    ("threat", "die in a fire"),
    ("threat", "drink bleach"),
    ("threat", "hope|wish you|u|he|she|they die|dies|croak"),
    ("threat", "hope|wish you|u|he|she|they get|gets killed|raped|shot|murdered"),
    ("threat", "you|u|he|she|they should|deserve|deserves|must to? die|hang"),
    ("threat", "you|u|he|she|they should|deserve|deserves|must to? be killed|shot|hanged|lynched"),
    ("threat", "should|must|deserves|deserve|ought to? be shot|hanged|lynched"),
    ("threat", "i|we|ll|gonna|will|someone|somebody|ill kill|stab|murder|strangle|rape you|u|ya|him|her|them"),
    ("threat", "someone|somebody should|must|needs|ought to? shoot|kill|stab|hang|strangle"),
    ("threat", "know|found where you|u|your|ur live|lives|family|kids|house"),
    ("threat", "watch your|ur back"),
    ("threat", "you|u re|are dead meat"),
    ("threat", "death to the? {en_group}|{en_person}"),
    # Slurs, and hate aimed at a group
    ("harassment", "{slur}"),
    ("harassment", "sale|sales|espece de|d? {fr_group}"),
    ("harassment", "dirty|filthy|fucking|stupid {en_group}"),
    ("harassment", "sale|sales|espece|bande de|d? {filler}* tapette|tapettes|bamboula|bamboulas"),
    ("harassment", "es|etes|est|sont un|une|des|qu {filler}* tapette|tapettes"),
    ("harassment", "you|u|fucking|stupid|dumb|such|bunch|pack of|a|an? {filler}* fag|fags|dyke|dykes|chink|chinks"
                   "|retard|retards"),
    ("harassment", "is|are|re|was|were a|an|such|bunch|all|one {filler}* fag|fags|dyke|dykes|retard|retards"),
    # Words that deny people their humanity
    ("dehumanising", "sous|sub homme|hommes|race|races|human|humans"),
    ("dehumanising", "subhuman|subhumans|untermensch|untermenschen"),
    ("dehumanising", "{fr_group}|{fr_person}|eux|vous|ceux ~* ~? es|etes|est|sont|etait|etaient {filler}* "
                     "{dehumanising}"),
    ("dehumanising", "{en_group}|{en_person}|you|u|them ~* ~? are|re|is|was|were {filler}* {dehumanising}"),
    ("dehumanising", "bande|ramassis|troupeau|bunch|pack de|d|of {filler}* parasites|vermine|cafards|cloportes|"
                     "degeneres|consanguins|sauvages|savages|vermin|cockroaches|degenerates|subhumans"),
    ("dehumanising", "human|you|u|sale|sales vermine|vermin|scum"),
    # Insults aimed at someone
    ("insult", "{insult}"),
    ("insult", "trou|trous du|de cul"),
    ("insult", "sac|sacs a merde|foutre"),
    ("insult", "ta gueule"),
    ("insult", "va|allez|vas te|vous faire foutre|enculer|mettre"),
    ("insult", "nique|niquer|nik ta|sa|vos|vous"),
    ("insult", "fuck|fck|fk|fuk you|u|ya|off|yourself|him|her|them"),
    ("insult", "fuck|fck|fk|fuk the {en_person}"),
    ("insult", "stfu"),
    ("insult", "shut the fuck up"),
    ("insult", "you|u|ya|{en_person} are|re|is|s|was? {filler}* piece|pieces of shit|crap"),
    ("insult", "espece|bande|ramassis|troupeau de|d {filler}* {fr_noun}|{fr_literal}|{fr_weak}"),
    ("insult", "tas|tete|gueule de|d {filler}* {fr_noun}|{fr_weak}"),
    ("insult", "sale|sales {filler}* {fr_noun}|{fr_literal}|{fr_weak}"),
    ("insult", "quel|quelle|quels|quelles|ce|cet|cette|ces|gros|grosse|pauvre|pauvres|vieux|vieille|sacre|sacree "
               "{filler}* {fr_noun}"),
    ("insult", "quel|quelle|quels|quelles {filler}* {fr_literal}"),
    ("insult", "est|es|etes|sont|etait|etaient un|une|des|qu|que {filler}* {fr_noun}"),
    ("insult", "t|tu|vous|toi es|etes un|une|des|qu {filler}* {fr_literal}"),
    ("insult", "t|tu|toi|vous|{fr_person} es|etes|est|sont|etait|etaient {filler}* {fr_adjective}|{fr_noun}"),
    ("insult", "bunch|pack|load of {filler}* {en_noun}|{en_weak}|clowns|pigs|bastards|muppets"),
    ("insult", "you|u|ya|what|such|fucking|fuckin|bloody|stupid|dumb|fat|ugly|little a|an? {filler}* {en_noun}"),
    ("insult", "you|u|ya|what|such|fucking|stupid|dumb a|an? {filler}* {en_literal}"),
    ("insult", "is|are|re|was|were|am a|an|such|one {filler}* {en_noun}"),
    ("insult", "you|u|ya|{en_person} are|re|r|is|s|was|were {filler}* {en_adjective}|{en_noun}|{en_literal}"),
)

# Words too common to make a rule worth trying on their own: a rule is looked up by its rarest slot.
_COMMON = LISTS["filler"] | _words(
    """
    je j tu t te toi on nous vous il ils elle elles ce ces cette est es etes sont a ai va vas allez que qu de d la
    le les ta ton tes sa vos ou et mais i we you u he she they them your ur the to of is are re s was were be will
    should must in
    """
)

# A word: letters and digits, leetspeak signs inside it, "*" for a masked letter. An end of sentence: . ! ? ; …
_END_SIGNS = ".!?;:…\n"
_TOKEN = re.compile(rf"[a-z0-9@$]+(?:[!*]+[a-z0-9@$]+)*|[{_END_SIGNS}]+")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_SIGNS = re.compile(r"[0-9@$!*]")
_RUN = re.compile(r"([a-z])\1{2,}")
END = "."


@dataclass(frozen=True, slots=True)
class Hostility:
    """Why a post is hostile: its category (one of CATEGORIES). Never a judgement of its author."""

    category: str


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    regex: re.Pattern[str]
    required: tuple[frozenset[str], ...]  # a word of each must be in the post for the pattern to be worth trying


@dataclass(frozen=True, slots=True)
class _Lexicon:
    rules: tuple[_Rule, ...]
    by_word: dict[str, tuple[int, ...]]  # a word -> the rules whose first required slot holds it
    keys: frozenset[str]  # by_word's words, as a set: intersected with a post's, it is the smaller that is read
    vocabulary: frozenset[str]
    by_length: dict[int, tuple[str, ...]]  # known words by length, for starred letters


@dataclass(frozen=True, slots=True)
class HostileMark:
    """A post marked hostile, on its card and for /draft: by the LLM, or by the word list (`estimate`)."""

    estimate: bool


def hostile_mark(model: bool | None, text: str) -> HostileMark | None:
    """The model's flag when it labelled the post (`mentions.hostile_model`: its "no" wins over the word list),
    else the word list's estimate on `text`."""
    if model is not None:
        return HostileMark(estimate=False) if model else None
    return HostileMark(estimate=True) if is_hostile(text) else None


def mention_mark(model: bool | None, mention: Mention) -> HostileMark | None:
    """`hostile_mark` of a stored mention: its title and text."""
    return hostile_mark(model, title_then_text(mention.title, mention.text))




def classify(text: str) -> Hostility | None:
    """The category of hostility of `text`, or None when the word list finds none."""
    lexicon = _lexicon()
    folded = fold(text)
    tokens = _TOKEN.findall(folded)
    signs, held = _SIGNS.search(folded) is not None, _RUN.search(folded) is not None
    if signs or held:
        tokens = [
            _known_form(token.lstrip("@") or token, lexicon)
            if (signs and not token.isalpha() and not token.isdigit()) or (held and _RUN.search(token))
            else token
            for token in tokens
        ]
    words = frozenset(tokens)
    # Most posts hold no word any rule starts from: they cost the fold, the split and this one set operation.
    candidates = sorted({index for word in words & lexicon.keys for index in lexicon.by_word[word]})
    joined = ""
    for index in candidates:
        rule = lexicon.rules[index]
        if any(words.isdisjoint(slot) for slot in rule.required[1:]):
            continue
        joined = joined or _joined(tokens)
        if rule.regex.search(joined):
            return Hostility(rule.category)
    return None


def is_hostile(text: str) -> bool:
    return classify(text) is not None


def _joined(tokens: list[str]) -> str:
    """The post's words as " . w1 w2 . w3 . ", each end of sentence (a run of . ! ? ; : … or a new line) as "."."""
    out = [END]
    for token in tokens:
        if token[0] not in _END_SIGNS:
            out.append(token)
        elif out[-1] != END:
            out.append(END)
    if out[-1] != END:
        out.append(END)
    return f" {' '.join(out)} "


def _known_form(word: str, lexicon: _Lexicon) -> str:
    """`word` as the known word it stands for (leetspeak, a letter held, a starred letter), else as written."""
    if word in lexicon.vocabulary:
        return word
    for form in _readings(word):
        if form in lexicon.vocabulary:
            return form
        if "*" in form and (masked := _unmasked(form, lexicon)) is not None:
            return masked
    return word


def _readings(word: str) -> Iterator[str]:
    """The ways to read `word`: leetspeak as letters (when the word has letters), each run of 3+ letters as 1 or 2."""
    forms = [word]
    if any(c.isalpha() for c in word):
        forms.append(word.translate(_LEET))
    for form in forms:
        runs = list(_RUN.finditer(form))
        if not runs:
            yield form
            continue
        pieces = _RUN.split(form)  # text, letter, text, letter, ..., text
        for lengths in product((1, 2), repeat=min(len(runs), 4)):
            out = [pieces[0]]
            for n, letter in enumerate(pieces[1::2]):
                out.append(letter * (lengths[n] if n < len(lengths) else 2))
                out.append(pieces[2 + 2 * n])
            yield "".join(out)


def _unmasked(form: str, lexicon: _Lexicon) -> str | None:
    """The one known word `form` can be with each "*" a letter ("f*ck" -> "fuck"); None if none or several."""
    pattern = re.compile(re.escape(form).replace(r"\*", "[a-z]"))
    found = [word for word in lexicon.by_length.get(len(form), ()) if pattern.fullmatch(word)]
    return found[0] if len(found) == 1 else None


@cache
def _lexicon() -> _Lexicon:
    """RULES compiled once: a regex each, the words that make it worth trying, and an index by first word."""
    rules: list[_Rule] = []
    by_word: dict[str, list[int]] = {}
    vocabulary: set[str] = set()
    for index, (category, pattern) in enumerate(RULES):
        regex, required = _compile(pattern)
        rules.append(_Rule(category, regex, required))
        for word in required[0]:
            by_word.setdefault(word, []).append(index)
        vocabulary.update(*required)
    vocabulary.update(*LISTS.values())
    by_length: dict[int, list[str]] = {}
    for word in sorted(vocabulary):
        by_length.setdefault(len(word), []).append(word)
    return _Lexicon(
        rules=tuple(rules),
        by_word={word: tuple(indexes) for word, indexes in by_word.items()},
        keys=frozenset(by_word),
        vocabulary=frozenset(vocabulary),
        by_length={length: tuple(words) for length, words in by_length.items()},
    )


def _compile(pattern: str) -> tuple[re.Pattern[str], tuple[frozenset[str], ...]]:
    """A rule's regex over " w1 w2 … " and the word sets of its required slots, the most selective first."""
    parts: list[str] = []
    required: list[frozenset[str]] = []
    for slot in pattern.split():
        repeat = slot[-1] if slot[-1] in "?*" else ""
        words = _slot_words(slot.rstrip("?*"))
        alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True)) if words else r"\S+"
        piece = f"(?:{alternatives}) "
        parts.append({"": piece, "?": f"(?:{piece})?", "*": f"(?:{piece}){{0,3}}"}[repeat])
        if not repeat and words and END not in words:
            required.append(words)
    if not required:
        raise ValueError(f"hostility rule {pattern!r} has no word that must be present")
    # The slot with the fewest common words goes first: the rule is looked up by it, and tried only with it.
    required.sort(key=lambda words: (len(words & _COMMON), len(words)))
    return re.compile(" (?:" + "".join(parts) + ")"), tuple(required)


def _slot_words(slot: str) -> frozenset[str]:
    """The words of one slot; empty for "~" (any word)."""
    if slot == "~":
        return frozenset()
    words: set[str] = set()
    for alternative in slot.split("|"):
        if alternative.startswith("{"):
            words.update(LISTS[alternative.strip("{}")])
        else:
            words.add(alternative)
    return frozenset(words)
