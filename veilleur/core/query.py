"""The query language of watchers: which mentions a watcher keeps.

A community manager writes one query per watcher, for example::

    "Caen la mer" OR tramway -football lang:fr

Syntax, from the loosest binding to the tightest. As in Google's search (and Google Alerts, which many teams
already use), OR binds tighter than the implicit AND: ``a OR b c`` means ``(a OR b) AND c``, so the example
above keeps French posts about Caen la mer or the tramway that do not mention football.

    query        := alternatives (["AND"] alternatives)*   side by side, all required
    alternatives := unary ("OR" unary)*
    unary        := ("NOT" | "-") primary | primary       "-" is glued to what it excludes: -football
    primary      := "(" query ")" | "phrase" | word | word* | field:value

Keywords are upper case (``or`` is a French word). Fields are ``lang:``, ``site:`` and ``author:``.

Text matching is on whole words of the mention's title and text, case- and accent-insensitive. Both sides are
reduced to the same canonical form: folded (see `fold`), every character that cannot be part of a word turned
into a space, a space at each end. A word is then ``" word "`` in that string and a prefix ``tram*`` is
``" tram"``: plain substring tests, which is what makes matching cheap. A phrase is a regular expression with
runs of spaces between its words. ``#`` is kept in a second form of the string, so ``#tram`` only matches the
hashtag while ``tram`` matches the word and the hashtag.
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar, NoReturn, Protocol
from urllib.parse import unquote

from veilleur.core.mentions import Mention
from veilleur.core.text import ignored_when_comparing, without_invisible

MAX_QUERY_LENGTH = 4000
MAX_NESTING = 32
MIN_PREFIX_LENGTH = 2

_KEYWORDS = frozenset({"OR", "AND", "NOT"})
_FIELDS = ("author", "lang", "site")
_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
_OPENING_QUOTES = '"“«„'
_CLOSING_QUOTES = '"”»“'
_WORD_END = frozenset("()" + _OPENING_QUOTES)
# Joins a mention's title to its text; folds to "|", a token no query word can contain, so a phrase cannot run
# from the end of the title into the start of the text.
_SECTION_MARK = "\x1f"
# Letters that NFKD does not decompose but that readers treat as their base letter(s).
_LETTER_EXPANSIONS = {
    "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ħ": "h", "ŧ": "t", "ı": "i",
}  # fmt: skip
_FOLD_CACHE_LIMIT = 50_000
_RECENT_MENTIONS = 1024

# ISO 639-1: the two-letter codes sources use for a post's language.
_ISO_639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee "
    "el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is "
    "it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms "
    "mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk "
    "sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu"
)
_LANGUAGE_CODES = frozenset(_ISO_639_1.split())
# Three-letter codes people type for languages that sources tag with two letters.
_TWO_LETTER_FOR = {
    "fra": "fr", "fre": "fr", "eng": "en", "deu": "de", "ger": "de", "spa": "es", "ita": "it", "por": "pt",
    "nld": "nl", "dut": "nl", "bre": "br", "oci": "oc", "cat": "ca", "eus": "eu", "baq": "eu", "ara": "ar",
}  # fmt: skip
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_PORT = re.compile(r":\d*$")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?P<host>[^/?#:]*)(?::[^/?#]*)?(?P<path>[^?#]*)", re.IGNORECASE)


class QueryError(ValueError):
    """A query that cannot be understood, with what is wrong, how to fix it and where.

    `position` is the 0-based index in the query of the character at fault (None when the whole query is at
    fault, e.g. when it is empty). `str()` gives the explanation followed by the query with a caret under that
    character; `reason` is the explanation alone.
    """

    def __init__(self, reason: str, query: str, position: int | None = None) -> None:
        self.reason = reason
        self.query = query
        self.position = position
        super().__init__(self._render())

    def _render(self) -> str:
        if self.position is None:
            return self.reason
        # Keep the caret under its character when the query spans several lines or holds tabs.
        shown = "".join(" " if char.isspace() else char for char in self.query)
        return f"{self.reason}\n  {shown}\n  {' ' * self.position}^"


# --- Folding -------------------------------------------------------------------------------------------------


def _fold_char(char: str) -> str:
    """The case- and accent-free form of one character: the definition every faster path must agree with.

    Invisible characters fold to nothing (see `text.ignored_when_comparing`): "tram\u200bway" is "tramway".
    """
    if ignored_when_comparing(char):
        return ""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(_LETTER_EXPANSIONS.get(part, part) for part in decomposed if not unicodedata.combining(part))


def _word_fold_char(char: str) -> str:
    """`_fold_char`, keeping letters, digits, marks and "#", spacing the rest.

    Invisible characters (soft hyphens, zero-width joiners) fold to nothing, so they join the word they sit in.
    """
    if char == _SECTION_MARK:
        return "|"
    parts: list[str] = []
    for part in _fold_char(char):
        if part.isalnum() or part == "#" or unicodedata.category(part).startswith("M"):
            parts.append(part)
        else:
            parts.append(" ")
    folded = "".join(parts)
    return " " if folded.isspace() else folded


class _CharFolds(dict[int, str]):
    """A `str.translate` table filled on demand, so only the characters actually seen are ever computed."""

    def __init__(self, fold_one: Callable[[str], str]) -> None:
        super().__init__()
        self._fold_one = fold_one

    def __missing__(self, code: int) -> str:
        folded = self._fold_one(chr(code))
        if len(self) < _FOLD_CACHE_LIMIT:  # hostile text could cycle through every code point
            self[code] = folded
        return folded


@cache
def _fold_table() -> _CharFolds:
    return _CharFolds(_fold_char)


@cache
def _word_fold_table() -> _CharFolds:
    return _CharFolds(_word_fold_char)


def fold(text: str) -> str:
    """`text` case-folded, without accents, ligatures spelt out: "Œuvre À L'ÉCOLE" -> "oeuvre a l'ecole".

    Punctuation and spacing are kept. This is the comparison key of queries; reuse it wherever two pieces of
    text must compare the way a query compares them.
    """
    if text.isascii():
        return text.lower()
    return text.translate(_fold_table())


# Windows code pages whose letters fold to letters of the same code page. Text written in one of them folds in C
# (encode, then bytes.translate), about ten times faster than str.translate. cp1252 (French, English, Western
# Europe) is tried first; the first character it cannot fold picks the next one by its Unicode block.
_CODE_PAGES_BY_BLOCK = ((0x0100, 0x024F, "cp1250"), (0x0370, 0x03FF, "cp1253"), (0x0400, 0x04FF, "cp1251"))
_FOLD_ERRORS = "veilleur-query-fold"


@dataclass(frozen=True)
class _CodePageFolding:
    """`_word_fold_char` for every byte of one code page.

    `table` maps each byte to the byte of its fold, except two rare kinds it leaves alone: `expansions`, the
    characters that fold to several ASCII letters (ß -> ss, œ -> oe), and `slow`, those whose fold is outside
    ASCII and not a single byte of the code page (µ -> μ in cp1252), left to the general path.
    """

    codec: str
    table: bytes
    delete: bytes
    expansions: tuple[tuple[bytes, bytes], ...]
    slow: bytes


class _Unfoldable(Exception):
    """Raised through the encoder at a character the code page cannot encode and that folds outside ASCII or
    belongs to another code page (a text with one ł is worth folding in cp1250, not char by char in cp1252)."""

    def __init__(self, char: str) -> None:
        super().__init__(char)
        self.char = char


def _code_page_for(char: str) -> str | None:
    code = ord(char)
    return next((codec for first, last, codec in _CODE_PAGES_BY_BLOCK if first <= code <= last), None)


_IN_CODE_PAGE_BLOCK = re.compile(
    "|".join(f"[{chr(first)}-{chr(last)}]" for first, last, _codec in _CODE_PAGES_BY_BLOCK)
)


def _fold_unencodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: fold what the code page cannot encode (emoji, ő in cp1250...) when it folds to ASCII."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start : error.end]
    if other_code_page := _IN_CODE_PAGE_BLOCK.search(run):
        raise _Unfoldable(other_code_page.group())
    table = _word_fold_table()
    folded = run.translate(table)
    if not folded.isascii():
        raise _Unfoldable(next(char for char in run if not table[ord(char)].isascii()))
    return folded, error.end


@cache
def _code_page_folding(codec: str) -> _CodePageFolding:
    codecs.register_error(_FOLD_ERRORS, _fold_unencodable)
    table = bytearray(range(256))
    delete = bytearray()
    expansions: list[tuple[bytes, bytes]] = []
    slow = bytearray()
    for byte in range(256):
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            continue  # unassigned: the encoder never produces it
        try:
            encoded: bytes | None = _word_fold_char(char).encode(codec)
        except UnicodeEncodeError:
            encoded = None
        if encoded is None or (len(encoded) > 1 and not encoded.isascii()):
            slow.append(byte)  # expansions stay ASCII so that one's output never holds another's byte
        elif not encoded:
            delete.append(byte)
        elif len(encoded) == 1:
            table[byte] = encoded[0]
        else:
            expansions.append((bytes([byte]), encoded))
    return _CodePageFolding(codec, bytes(table), bytes(delete), tuple(expansions), bytes(slow))


def _fold_by_code_page(text: str, codec: str) -> str | None:
    """`text` through `_word_fold_char` in C, or None if it holds a `slow` character; may raise `_Unfoldable`."""
    folding = _code_page_folding(codec)
    data = text.encode(codec, _FOLD_ERRORS).translate(folding.table, folding.delete)
    if data.isascii():
        return data.decode("ascii")
    if any(byte in data for byte in folding.slow):
        return None
    for byte, expansion in folding.expansions:
        if byte in data:
            data = data.replace(byte, expansion)
    return data.decode(codec)


def _fold_by_other_code_page(text: str, unfoldable: str) -> str | None:
    codec = _code_page_for(unfoldable)
    if codec is None:
        return None
    try:
        return _fold_by_code_page(text, codec)
    except _Unfoldable:
        return None


def _folded_words(text: str) -> str:
    """`text` folded, "#" kept, every other character that cannot be part of a word a space (not collapsed)."""
    if text.isascii():
        return text.translate(_word_fold_table())
    try:
        folded = _fold_by_code_page(text, "latin-1" if _is_latin_1(text) else "cp1252")
    except _Unfoldable as error:
        folded = _fold_by_other_code_page(text, error.char)
    return folded if folded is not None else text.translate(_word_fold_table())


def _is_latin_1(text: str) -> bool:
    """Whether `text` is all Latin-1 (French without typographic quotes, for one): it then encodes by a plain copy,
    several times faster than through cp1252's character map, and folds the same."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _plain_words(text: str) -> list[str]:
    """The folded words of `text`, hashtags as plain words."""
    return _folded_words(text).replace("#", " ").split()


# --- What queries look at ------------------------------------------------------------------------------------


class MatchableText:
    """One mention normalised for matching, computed once and shared by every query that looks at it.

    `words` is the canonical form of the title and text (see the module docstring), `tagged_words` the same with
    hashtags still marked (" le #tram de caen "); the author and site forms are computed when a query needs them.
    """

    def __init__(self, mention: Mention) -> None:
        self.mention = mention
        folded = _folded_words(f"{mention.title} {_SECTION_MARK} {mention.text}")
        self.tagged_words = f" {folded} "
        self.words = self.tagged_words.replace("#", " ") if "#" in folded else self.tagged_words
        self.lang = _normalise_lang(mention.lang or "")
        self.primary_lang = self.lang.partition("-")[0]
        # Computed on first use; not functools.cached_property, whose lock costs more than the work here.
        self._site: tuple[str, str] | None = None
        self._authors: frozenset[str] | None = None

    @property
    def site(self) -> tuple[str, str]:
        """The host without "www." (punycode for international names) and the lower-cased path of the URL."""
        if self._site is None:
            address = _URL.match(self.mention.url.strip())
            if address is None:
                self._site = ("", "")
            else:
                self._site = (_normalise_host(address.group("host")), _normalise_path(address.group("path")))
        return self._site

    @property
    def authors(self) -> frozenset[str]:
        """Every spelling `author:` accepts for this mention's author."""
        if self._authors is None:
            self._authors = self._author_keys()
        return self._authors

    def _author_keys(self) -> frozenset[str]:
        keys: set[str] = set()
        handle = fold(self.mention.author_handle.strip()).lstrip("@")
        if handle:
            keys.add(handle)
            local, at, _instance = handle.partition("@")
            if at:
                keys.add(local)
            if handle.endswith(".bsky.social"):
                keys.add(handle.removesuffix(".bsky.social"))
        name = " ".join(_plain_words(self.mention.author_name))
        if name:
            keys.add(name)
        return frozenset(keys)


_recent: dict[int, MatchableText] = {}
_recent_lock = threading.Lock()


def matchable(mention: Mention) -> MatchableText:
    """The `MatchableText` of `mention`, reused while the mention is among the last ones seen.

    Mentions are neither hashable (their engagement is a dict) nor weak-referenceable (slots), so the cache
    is keyed on identity; it holds the mention itself, so an id cannot be recycled while its entry lives.
    """
    key = id(mention)
    with _recent_lock:
        text = _recent.get(key)
        if text is not None and text.mention is mention:
            return text
    text = MatchableText(mention)
    with _recent_lock:
        if len(_recent) >= _RECENT_MENTIONS:
            del _recent[next(iter(_recent))]
        _recent[key] = text
    return text


def _normalise_lang(tag: str) -> str:
    return tag.strip().lower().replace("_", "-")


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return host
    return host.removeprefix("www.")


def _normalise_path(path: str) -> str:
    return unquote(path).lower().rstrip("/")


# --- Compiled queries ----------------------------------------------------------------------------------------


class _Node(Protocol):
    cost: ClassVar[int]  # rough price of `matches`, so that AND tries the cheap tests first

    def matches(self, text: MatchableText) -> bool: ...

    def explain(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Words:
    """A word or a prefix: `needle` is its canonical form (" tram " or " tram"), in `MatchableText.words`."""

    needle: str
    label: str
    typed: str  # as written in the query, for `Query.outline`
    cost: ClassVar[int] = 1

    def matches(self, text: MatchableText) -> bool:
        return self.needle in text.words

    def explain(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class _TaggedWords:
    """Like `_Words`, for a needle holding a hashtag, searched in `MatchableText.tagged_words`."""

    needle: str
    label: str
    typed: str
    cost: ClassVar[int] = 1

    def matches(self, text: MatchableText) -> bool:
        return self.needle in text.tagged_words

    def explain(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class _Phrase:
    """Consecutive words, whatever punctuation or spacing separates them in the mention.

    `probe` is the needle of its longest word: a substring test several times cheaper than the regex, which
    most mentions fail.
    """

    pattern: re.Pattern[str]
    probe: str
    label: str
    tagged: bool
    typed: str
    cost: ClassVar[int] = 2

    def matches(self, text: MatchableText) -> bool:
        words = text.tagged_words if self.tagged else text.words
        return self.probe in words and self.pattern.search(words) is not None

    def explain(self) -> str:
        return f'"{self.label}"'


@dataclass(frozen=True, slots=True)
class _Lang:
    code: str
    cost: ClassVar[int] = 0

    def matches(self, text: MatchableText) -> bool:
        if "-" not in self.code:
            return text.primary_lang == self.code
        return text.lang == self.code or text.lang.startswith(self.code + "-")

    def explain(self) -> str:
        return f"lang:{self.code}"


@dataclass(frozen=True, slots=True)
class _Site:
    host: str
    path: str
    cost: ClassVar[int] = 3

    def matches(self, text: MatchableText) -> bool:
        host, path = text.site
        if host != self.host and not host.endswith("." + self.host):
            return False
        return not self.path or path == self.path or path.startswith(self.path + "/")

    def explain(self) -> str:
        return f"site:{self.host}{self.path}"


@dataclass(frozen=True, slots=True)
class _Author:
    keys: frozenset[str]
    label: str
    typed: str
    cost: ClassVar[int] = 3

    def matches(self, text: MatchableText) -> bool:
        return not self.keys.isdisjoint(text.authors)

    def explain(self) -> str:
        return f"author:{self.label}"


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node
    cost: ClassVar[int] = 2

    def matches(self, text: MatchableText) -> bool:
        return not self.child.matches(text)

    def explain(self) -> str:
        return f"NOT {self.child.explain()}"


@dataclass(frozen=True, slots=True)
class _All:
    """AND: `children` in query order (for `explain` and `terms`), `cheapest_first` the order tests run in."""

    children: tuple[_Node, ...]
    cheapest_first: tuple[_Node, ...]
    cost: ClassVar[int] = 4

    def matches(self, text: MatchableText) -> bool:
        # A loop, not all(): the generator would cost more than the substring tests it runs.
        for child in self.cheapest_first:  # noqa: SIM110
            if not child.matches(text):
                return False
        return True

    def explain(self) -> str:
        return "(" + " AND ".join(child.explain() for child in self.children) + ")"


@dataclass(frozen=True, slots=True)
class _Any:
    children: tuple[_Node, ...]
    cost: ClassVar[int] = 4

    def matches(self, text: MatchableText) -> bool:
        for child in self.children:  # noqa: SIM110 - see _All.matches
            if child.matches(text):
                return True
        return False

    def explain(self) -> str:
        return "(" + " OR ".join(child.explain() for child in self.children) + ")"


def _all_of(parts: list[_Node]) -> _Node:
    """AND of `parts`, run cheapest tests first: the result is the same and a miss is found sooner."""
    flat = tuple(child for part in parts for child in (part.children if isinstance(part, _All) else (part,)))
    return flat[0] if len(flat) == 1 else _All(flat, tuple(sorted(flat, key=lambda node: node.cost)))


def _any_of(parts: list[_Node]) -> _Node:
    flat = [child for part in parts for child in (part.children if isinstance(part, _Any) else (part,))]
    return flat[0] if len(flat) == 1 else _Any(tuple(flat))


def _positive_terms(node: _Node, negated: bool) -> Iterator[str]:
    if isinstance(node, _Words | _TaggedWords | _Phrase):
        if not negated:
            yield node.label
    elif isinstance(node, _Not):
        yield from _positive_terms(node.child, not negated)
    elif isinstance(node, _All | _Any):
        for child in node.children:
            yield from _positive_terms(child, negated)


@dataclass(frozen=True)
class Query:
    """A compiled query: build it with `parse_query` (or `Query(text)`), then test mentions with `matches`.

    Immutable and cheap to reuse; equal when the texts are equal.
    """

    text: str
    _root: _Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Typed or pasted text can hold invisible characters too: the query is kept, shown and parsed without them.
        object.__setattr__(self, "text", without_invisible(self.text))
        object.__setattr__(self, "_root", _Parser(self.text).parse())

    def matches(self, mention: Mention) -> bool:
        return self._root.matches(matchable(mention))

    def matches_text(self, text: MatchableText) -> bool:
        """`matches` for a mention already normalised, when several queries look at the same mentions."""
        return self._root.matches(text)

    def terms(self) -> list[str]:
        """The words and phrases the query looks for (not those it excludes), folded, in query order, once each.

        A phrase is its words separated by spaces, a prefix keeps its "*", a hashtag its "#".
        """
        return list(dict.fromkeys(_positive_terms(self._root, negated=False)))

    def explain(self) -> str:
        """The query as understood, fully parenthesised: `a b OR c` -> "(a AND (b OR c))"."""
        return self._root.explain()

    def outline(self) -> Clause:
        """The query as a tree of clauses with their texts as written, for a source whose search can take part of
        it (see `Clause`)."""
        return _outline(self._root)


@dataclass(frozen=True, slots=True)
class Clause:
    """One part of a query, for a watcher that hands what it can of the query to a source's own search.

    `kind` is "all" (AND), "any" (OR) or "not" over `children`, or a test: "word" (one word, "#" kept for a
    hashtag), "prefix" (`value` without its "*"), "phrase" (without its quotes; a word such as l'école that
    holds several is one too), "lang" (the code), "site" (host and path) or "author" (as written, "@" kept).
    Texts keep the case and accents the person typed. A source's search matches differently from the query, so
    what it returns still goes through `Query.matches`.
    """

    kind: str
    value: str = ""
    children: tuple[Clause, ...] = ()


def _outline(node: _Node) -> Clause:
    if isinstance(node, _All | _Any):
        return Clause("all" if isinstance(node, _All) else "any", children=tuple(map(_outline, node.children)))
    if isinstance(node, _Not):
        return Clause("not", children=(_outline(node.child),))
    if isinstance(node, _Words | _TaggedWords | _Phrase):
        kind = "prefix" if node.label.endswith("*") else "phrase" if isinstance(node, _Phrase) else "word"
        return Clause(kind, node.typed)
    if isinstance(node, _Lang):
        return Clause("lang", node.code)
    if isinstance(node, _Site):
        return Clause("site", node.host + node.path)
    if isinstance(node, _Author):
        return Clause("author", node.typed)
    raise AssertionError(f"no outline for {node!r}: every node kind is listed above")


def parse_query(text: str) -> Query:
    """Compile `text`; raise `QueryError` saying what is wrong, where and how to fix it."""
    return Query(text)


# --- Parsing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    """One lexical unit. `kind` is "(", ")", "-", a keyword, "word", "phrase" or "field"."""

    kind: str
    position: int
    text: str = ""
    name: str = ""
    value_position: int = 0


_TERM_KINDS = frozenset({"(", "word", "phrase", "field"})


class _Parser:
    """Recursive descent over the tokens of one query; see the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []
        self.index = 0

    def parse(self) -> _Node:
        if len(self.text) > MAX_QUERY_LENGTH:
            self.fail(f"the query is too long ({len(self.text)} characters, at most {MAX_QUERY_LENGTH})", None)
        self.tokens = list(self._lex())
        if not self.tokens:
            self.fail("the query is empty: write at least one word to look for, e.g. tramway", None)
        node = self._query(depth=0)
        if self.index < len(self.tokens):
            self._stray_closing(self.tokens[self.index])
        return node

    def _stray_closing(self, token: _Token) -> NoReturn:
        self.fail(
            f"unbalanced parenthesis at position {token.position}: this ')' closes nothing; "
            "remove it or add the missing '(' before it",
            token.position,
        )

    def fail(self, reason: str, position: int | None) -> NoReturn:
        raise QueryError(reason, self.text, position)

    # Lexing

    def _lex(self) -> Iterator[_Token]:
        text = self.text
        index = 0
        while index < len(text):
            char = text[index]
            if char.isspace():
                index += 1
            elif char in "()":
                yield _Token(char, index)
                index += 1
            elif char in _OPENING_QUOTES:
                inner, end = self._phrase_at(index)
                yield _Token("phrase", index, inner, value_position=index + 1)
                index = end
            elif char == "-":
                following = text[index + 1 : index + 2]
                if not following or following.isspace() or following == ")":
                    self.fail(
                        f"'-' alone at position {index}: put the word to exclude right after it, "
                        "without a space, e.g. -football",
                        index,
                    )
                yield _Token("-", index)
                index += 1
            else:
                token, index = self._word_at(index)
                yield token

    def _phrase_at(self, start: int) -> tuple[str, int]:
        """The text between the quote at `start` and its closing quote, and the index after the latter."""
        for end in range(start + 1, len(self.text)):
            if self.text[end] in _CLOSING_QUOTES:
                return self.text[start + 1 : end], end + 1
        closing = _CLOSING_QUOTES[_OPENING_QUOTES.index(self.text[start])]
        self.fail(f"unclosed quote at position {start}: add a closing {closing} at the end of the phrase", start)

    def _word_at(self, start: int) -> tuple[_Token, int]:
        end = start
        while end < len(self.text) and not self.text[end].isspace() and self.text[end] not in _WORD_END:
            end += 1
        word = self.text[start:end]
        if word in _KEYWORDS:
            return _Token(word, start), end
        field_match = _FIELD.match(word)
        if field_match is None:
            return _Token("word", start, word), end
        name = field_match.group(1).lower()
        if name not in _FIELDS:
            self._unknown_field(field_match.group(1), start)
        value, value_position = word[field_match.end() :], start + field_match.end()
        if not value and end < len(self.text) and self.text[end] in _OPENING_QUOTES:
            value, end = self._phrase_at(end)
            value_position += 1
        if not value.strip():
            self.fail(f"{name}: at position {start} needs a value right after the colon, e.g. {_EXAMPLES[name]}", start)
        return _Token("field", start, value, name, value_position), end

    def _unknown_field(self, name: str, position: int) -> NoReturn:
        hint = (
            "to keep only one website, use site:example.org"
            if name.lower() in ("http", "https")
            else "to look for a word followed by ':', put it in quotes"
        )
        known = ", ".join(f"{known}:" for known in _FIELDS)
        self.fail(f"unknown field '{name}:' at position {position}: the fields are {known}; {hint}", position)

    # Grammar

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _query(self, depth: int) -> _Node:
        self._expect_operand_before()
        parts = [self._alternatives(depth)]
        while (token := self._peek()) is not None and token.kind != ")":
            if token.kind == "AND":
                self._next()
                self._expect_operand_after(token)
            parts.append(self._alternatives(depth))
        return _all_of(parts)

    def _alternatives(self, depth: int) -> _Node:
        parts = [self._unary(depth)]
        while (token := self._peek()) is not None and token.kind == "OR":
            self._next()
            self._expect_operand_after(token)
            parts.append(self._unary(depth))
        return _any_of(parts)

    def _unary(self, depth: int) -> _Node:
        token = self._peek()
        if token is not None and token.kind in ("NOT", "-"):
            self._next()
            operand = self._peek()
            if operand is None or operand.kind not in _TERM_KINDS:
                what = "NOT" if token.kind == "NOT" else "'-'"
                self.fail(
                    f"{what} at position {token.position} must be followed by what to exclude: "
                    'a word, a "phrase", a field or a (group), e.g. -football or NOT (foot OR rugby)',
                    token.position,
                )
            return _Not(self._primary(depth))
        return self._primary(depth)

    def _primary(self, depth: int) -> _Node:
        token = self._next()
        if token.kind == "(":
            return self._group(token, depth + 1)
        if token.kind == "word":
            return _compile_text(self, token.text, token.position, quoted=False)
        if token.kind == "phrase":
            return _compile_text(self, token.text, token.value_position, quoted=True)
        if token.kind == "field":
            return _FIELD_COMPILERS[token.name](self, token.text, token.value_position)
        raise AssertionError(f"unexpected {token.kind} token: callers check the kind")

    def _group(self, opening: _Token, depth: int) -> _Node:
        if depth > MAX_NESTING:
            self.fail(
                f"too many nested parentheses at position {opening.position} (at most {MAX_NESTING})", opening.position
            )
        following = self._peek()
        if following is not None and following.kind == ")":
            self.fail(
                f"empty parentheses at position {opening.position}: put words inside or remove them",
                opening.position,
            )
        node = self._query(depth)
        closing = self._peek()
        if closing is None:
            self.fail(
                f"unbalanced parenthesis at position {opening.position}: this '(' is never closed; "
                "add a closing parenthesis ')'",
                opening.position,
            )
        self._next()
        return node

    def _expect_operand_before(self) -> None:
        """Where a term must start: at the beginning of the query or of a group (operators check what follows)."""
        token = self._peek()
        if token is None or token.kind not in ("OR", "AND", ")"):
            return
        if token.kind == ")":
            self._stray_closing(token)
        self.fail(
            f"{token.kind} at position {token.position} has nothing before it: put a word on each side, "
            f"e.g. tram {token.kind} bus",
            token.position,
        )

    def _expect_operand_after(self, operator: _Token) -> None:
        following = self._peek()
        if following is not None and following.kind in ("OR", "AND"):
            self.fail(
                f"{operator.kind} then {following.kind} at position {following.position}: two operators in a row; "
                "remove one of them",
                following.position,
            )
        if following is None or following.kind == ")":
            self.fail(
                f"{operator.kind} at position {operator.position} has nothing after it: put a word on each side, "
                f"e.g. tram {operator.kind} bus, or remove it",
                operator.position,
            )


_EXAMPLES = {"author": "author:@bob", "lang": "lang:fr", "site": "site:example.org"}


def _compile_text(parser: _Parser, raw: str, position: int, *, quoted: bool) -> _Node:
    """A word, "phrase", prefix* or #hashtag as a needle in the canonical form of `MatchableText`."""
    prefix = raw.rstrip().endswith("*")
    body = raw.rstrip()[:-1] if prefix else raw
    star = body.find("*")
    if star >= 0:
        parser.fail(
            f"'*' at position {position + star}: the wildcard only works at the end of a word, e.g. tram*",
            position + star,
        )
    tokens = _folded_words(body).split()
    if not any(token.strip("#") for token in tokens):
        if prefix:
            parser.fail(
                f"'*' at position {position}: put at least {MIN_PREFIX_LENGTH} letters before it, e.g. tram*", position
            )
        if quoted:
            parser.fail(f"empty phrase at position {position - 1}: put words between the quotes", position - 1)
        parser.fail(f"'{raw}' at position {position}: there are no letters or digits to look for; remove it", position)
    if prefix and len(tokens) == 1 and len(tokens[0].lstrip("#")) < MIN_PREFIX_LENGTH:
        parser.fail(
            f"'*' at position {position + len(body)}: put at least {MIN_PREFIX_LENGTH} letters before it, e.g. tram*",
            position + len(body),
        )
    joined = " ".join(tokens)
    label = f"{joined}*" if prefix else joined
    end = "" if prefix else " "
    if len(tokens) > 1:
        pattern = re.compile(" " + " +".join(map(re.escape, tokens)) + end)
        probe = max([f" {token} " for token in tokens[:-1]] + [f" {tokens[-1]}{end}"], key=len)
        return _Phrase(pattern, probe, label, tagged="#" in joined, typed=body.strip())
    if "#" in joined:
        return _TaggedWords(f" {joined}{end}", label, body.strip())
    return _Words(f" {joined}{end}", label, body.strip())


def _compile_lang(parser: _Parser, value: str, position: int) -> _Node:
    code = _normalise_lang(value)
    primary = code.partition("-")[0]
    if primary in _TWO_LETTER_FOR:
        parser.fail(
            f"lang:{value} at position {position}: use the two-letter code lang:{_TWO_LETTER_FOR[primary]}", position
        )
    if not _LANGUAGE_TAG.fullmatch(code) or (len(primary) == 2 and primary not in _LANGUAGE_CODES):
        parser.fail(
            f"unsupported language '{value}' at position {position}: use a two-letter language code "
            "such as fr, en, de or es (fr-CA for one country)",
            position,
        )
    return _Lang(code)


def _compile_site(parser: _Parser, value: str, position: int) -> _Node:
    address = _SCHEME.sub("", value.strip()).removeprefix("*.")
    host, _slash, path = address.partition("/")
    host = _PORT.sub("", host)
    normalised = _normalise_host(host)
    if not _HOST.fullmatch(normalised):
        parser.fail(
            f"site:{value} at position {position} is not a website address: use a domain name such as "
            "lefigaro.fr, optionally followed by a path (lefigaro.fr/politique)",
            position,
        )
    path = path.split("?", 1)[0].split("#", 1)[0]
    return _Site(normalised, "/" + _normalise_path(path).strip("/") if path.strip("/") else "")


def _compile_author(parser: _Parser, value: str, position: int) -> _Node:
    handle = fold(value.strip()).lstrip("@")
    name = " ".join(_plain_words(value))
    if not handle or not name:
        parser.fail(f"author:{value} at position {position}: give a handle or a name, e.g. author:@bob", position)
    return _Author(frozenset({handle, name}), handle, value.strip())


_FIELD_COMPILERS: dict[str, Callable[[_Parser, str, int], _Node]] = {
    "author": _compile_author,
    "lang": _compile_lang,
    "site": _compile_site,
}
