"""parse_feed against feedparser's own test corpus (tests/fixtures/feedparser-corpus, 2,106 feeds).

Each corpus file opens with a comment whose `Expect:` line is a Python expression over feedparser's result. For
every file: parse_feed must not crash, and may raise FeedError only for the files listed in NOT_FEEDS. Then the
Expect expression is split into its top-level `and` clauses, and every clause that reads only an entry's id/guid,
title (or title_detail['value']), link, or date (published/updated and their *_parsed forms) is evaluated against
a feedparser-shaped view of our ParsedFeed. Clauses about anything else (bozo, encodings, feed-level fields,
sanitising of summaries...) are not ours to check.

Adaptations of feedparser's expectations to our model, each applied by the view below:
- Titles: ours are plain text on one line. When feedparser holds a title as HTML (its title_detail type is
  text/html or application/xhtml+xml, asked of feedparser itself), the expected value is compared through
  html_to_text, since what such a clause tests is markup and sanitising, which plain text makes moot.
  Plain-text titles are compared as they are.
- Dates: we keep one instant per entry (published, else updated), so published, updated and their *_parsed forms
  all read it; the raw strings are compared as instants, the expected one read by feedparser's own date parser.
- Documents come as feedparser's own harness gives them (see run_parse_feed).
"""

from __future__ import annotations

import ast
import functools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
import pytest
from feedparser.datetimes import _parse_date as feedparser_parse_date

from veilleur.core.text import html_to_text, one_line
from watchers.feed_parser import FeedError, ParsedFeed, parse_feed

CORPUS = Path(__file__).parents[1] / "fixtures" / "feedparser-corpus"
FILES = sorted(CORPUS.rglob("*.xml"))
SERVED_AT = "http://127.0.0.1:8097/tests/"
ENTRY_KEYS = frozenset({"id", "guid", "title", "link", "published", "updated", "published_parsed", "updated_parsed"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_COMMENT_FIELD = re.compile(r"^\s*(Description|Expect|Header):\s*(.*?)\s*$", re.MULTILINE)

# Files that are not feeds at all: parse_feed raises FeedError for them, and for no other file.
_ITEMLESS_CDF = (
    "CDF channel without any item: feedparser itself names no feed version for it, and a document in which no "
    "feed format is recognised and no entry is found is refused (an HTML page looks the same to feedparser)"
)
NOT_FEEDS: dict[str, str] = {
    "illformed/rss_empty_document.xml": "nothing but a comment",
    **{
        f"wellformed/cdf/channel_{name}.xml": _ITEMLESS_CDF
        for name in (
            "abstract_map_description",
            "abstract_map_tagline",
            "href_map_link",
            "href_map_links",
            "lastmod",
            "lastmod_parsed",
            "title",
        )
    },
}

# Files where we disagree with feedparser's Expect line on purpose, with the reason.
_BASE64_TITLE = (
    "title of type application/octet-stream (base64): RFC 4287 allows only text, html and xhtml titles, and "
    "fastfeedparser returns the base64 as it stands"
)
DISAGREEMENTS: dict[str, str] = {
    "wellformed/atom/entry_updated_multiple_values.xml": (
        "two <updated> in one entry, which Atom forbids: fastfeedparser keeps the first, feedparser the last"
    ),
    "wellformed/atom10/entry_link_no_href_link_priority.xml": (
        "<link> with its URL as text and no href, which Atom 1.0 does not allow: no link is read; feedparser "
        "6.0.14 fails this expectation too"
    ),
    "wellformed/atom10/entry_title_base64.xml": _BASE64_TITLE,
    "wellformed/atom10/entry_title_base64_2.xml": _BASE64_TITLE,
    "wellformed/atom10/entry_title_text_plain_brackets.xml": (
        "a type='text' title holding a literal '<blink>': fastfeedparser does not report title types, and titles "
        "are read as HTML, since feeds put markup in titles (Google Alerts' <b>) far more often than literal "
        "angle brackets"
    ),
    "wellformed/media-rss/item_media_title2.xml": (
        "an item's <media:title> placed before its <title>: fastfeedparser takes the first element named title"
    ),
    "wellformed/sanitize/entry_title_crazy.xml": (
        "feedparser's sanitiser misses a <script> start tag spread over several lines and keeps the script's body "
        "as text; html_to_text drops it, as a browser does"
    ),
}


@dataclass(frozen=True)
class CorpusCase:
    path: Path
    expect: str
    headers: dict[str, str]

    @property
    def name(self) -> str:
        return self.path.relative_to(CORPUS).as_posix()


def read_case(path: Path) -> CorpusCase:
    text = _comment_text(path.read_bytes())
    expect = ""
    headers: dict[str, str] = {}
    for field, value in _COMMENT_FIELD.findall(text):
        if field == "Expect":
            expect = value
        elif field == "Header":
            name, _, header_value = value.partition(":")
            headers[name.strip().lower()] = header_value.strip()
    return CorpusCase(path, expect, headers)


def _comment_text(data: bytes) -> str:
    """The corpus's own comment, in whichever of its encodings (UTF-16/32 files included) shows it."""
    for encoding in ("utf-8", "utf-32", "utf-16", "utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "Expect:" in text:
            return text
    return data.decode("latin-1")


def run_parse_feed(case: CorpusCase) -> ParsedFeed:
    """parse_feed on a corpus file, given what feedparser's own harness gives feedparser: files with "http" in
    their path come from a URL, with their Header lines (Content-Location names the base URI, which is what our
    `url` is); the others come with no URL at all."""
    if "http" not in case.name:
        return parse_feed(case.path.read_bytes())
    url = SERVED_AT + case.name
    location = case.headers.get("content-location")
    return parse_feed(
        case.path.read_bytes(),
        url=urljoin(url, location) if location else url,
        content_type=case.headers.get("content-type", "text/xml"),
    )


def entry_clauses(expect: str) -> list[ast.expr]:
    """The top-level `and` clauses of an Expect expression that read only the entry fields we produce."""
    tree = ast.parse(expect, mode="eval").body
    clauses = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    return [clause for clause in clauses if _reads_only_our_entry_fields(clause)]


def _reads_only_our_entry_fields(clause: ast.expr) -> bool:
    names = [node.id for node in ast.walk(clause) if isinstance(node, ast.Name)]
    fields = list(_entry_fields(clause))
    # Every `entries` must be read through one field of one entry: no len(entries), no bare entries[0].
    return bool(fields) and set(names) == {"entries"} and len(fields) == len(names) and set(fields) <= ENTRY_KEYS


def _entry_fields(clause: ast.expr) -> Iterator[str]:
    """The field each `entries[i]...` access reads: 'title' for entries[0]['title_detail']['value']."""
    for node in ast.walk(clause):
        if isinstance(node, ast.Subscript | ast.Attribute) and _is_entries_item(node.value):
            field = _key(node)
            if field == "title_detail":
                field = "title" if _read_with_key(node, clause, "value") else field
            yield field


def _is_entries_item(node: ast.expr) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "entries"


def _key(node: ast.Subscript | ast.Attribute) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    key = node.slice
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else "?"


def _read_with_key(node: ast.expr, clause: ast.expr, key: str) -> bool:
    return any(
        isinstance(outer, ast.Subscript) and outer.value is node and _key(outer) == key for outer in ast.walk(clause)
    )


class Title(str):
    """Our title, equal to feedparser's expected one as text (see the module docstring)."""

    expected_is_html: bool

    def __new__(cls, value: str, expected_is_html: bool) -> Title:
        title = super().__new__(cls, value)
        title.expected_is_html = expected_is_html
        return title

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str) and self.expected_is_html and not isinstance(other, Title):
            other = one_line(html_to_text(other))
        return str.__eq__(self, other)

    __hash__ = str.__hash__


class Instant:
    """Our entry date, equal to a date string that feedparser's date parser reads as the same UTC instant."""

    def __init__(self, moment: datetime | None) -> None:
        self.moment = moment

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Instant):
            return self.moment == other.moment
        parsed = feedparser_parse_date(other) if isinstance(other, str) else None
        return self.moment is not None and parsed is not None and tuple(parsed[:6]) == _utc_fields(self.moment)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Instant({self.moment!r})"


def _utc_fields(moment: datetime) -> tuple[int, ...]:
    return tuple(moment.utctimetuple()[:6])


class EntryView(dict[str, Any]):
    """An entry read as feedparser's are, by key or by attribute (entries[0].link)."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def feedparser_view(feed: ParsedFeed, title_types: list[str]) -> list[EntryView]:
    """Our entries under feedparser's keys, for the Expect clauses to read."""
    view = []
    for index, entry in enumerate(feed.entries):
        expected_is_html = index < len(title_types) and title_types[index] in HTML_TYPES
        title = Title(entry.title, expected_is_html)
        parsed_date = entry.published.utctimetuple() if entry.published else None
        view.append(
            EntryView(
                id=entry.id,
                guid=entry.id,
                link=entry.link,
                title=title,
                title_detail={"value": title},
                published=Instant(entry.published),
                updated=Instant(entry.published),
                published_parsed=parsed_date,
                updated_parsed=parsed_date,
            )
        )
    return view


def feedparser_title_types(case: CorpusCase) -> list[str]:
    """How feedparser itself holds each entry title (text/plain, text/html...)."""
    parsed = feedparser.parse(case.path.read_bytes(), response_headers=case.headers)
    return [entry.get("title_detail", {}).get("type", "") for entry in parsed.entries]


@dataclass(frozen=True)
class Outcome:
    not_a_feed: str | None
    agreed: tuple[str, ...]
    disagreed: tuple[str, ...]


@functools.cache
def outcome(path: Path) -> Outcome:
    case = read_case(path)
    try:
        feed = run_parse_feed(case)
    except FeedError as error:
        return Outcome(str(error), (), ())
    clauses = entry_clauses(case.expect) if case.expect else []
    if not clauses:
        return Outcome(None, (), ())
    view = feedparser_view(feed, feedparser_title_types(case))
    agreed, disagreed = [], []
    for clause in clauses:
        (agreed if holds(clause, view) else disagreed).append(ast.unparse(clause))
    return Outcome(None, tuple(agreed), tuple(disagreed))


def holds(clause: ast.expr, entries: list[EntryView]) -> bool:
    code = compile(ast.Expression(clause), "<Expect>", "eval")
    try:
        return bool(eval(code, {"__builtins__": {}}, {"entries": entries}))
    except (IndexError, KeyError):
        return False


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.relative_to(CORPUS).as_posix())
def test_corpus_file(path: Path) -> None:
    name = path.relative_to(CORPUS).as_posix()
    result = outcome(path)
    if name in NOT_FEEDS:
        assert result.not_a_feed is not None, f"{name} is listed as not a feed, but parsed"
        return
    assert result.not_a_feed is None, f"{name}: {result.not_a_feed}"
    if name in DISAGREEMENTS:
        assert result.disagreed, f"{name} is listed as a disagreement, but now agrees with feedparser"
    else:
        assert not result.disagreed, f"{name}: {result.disagreed}"


def test_corpus_totals() -> None:
    """The whole corpus, counted: guards the clause filter against silently checking nothing."""
    started = time.perf_counter()
    outcomes = {path.relative_to(CORPUS).as_posix(): outcome(path) for path in FILES}
    elapsed = time.perf_counter() - started
    agreed = sum(len(result.agreed) for result in outcomes.values())
    disagreed = sum(len(result.disagreed) for result in outcomes.values())
    not_feeds = sorted(name for name, result in outcomes.items() if result.not_a_feed)
    print(
        f"feedparser corpus: {len(FILES)} files, {len(not_feeds)} not feeds, {agreed + disagreed} entry clauses "
        f"checked, {agreed} agree, {disagreed} deliberate disagreements, {elapsed:.2f} s"
    )
    assert len(FILES) == 2106
    assert not_feeds == sorted(NOT_FEEDS)
    assert agreed + disagreed >= 200
    assert disagreed == len(DISAGREEMENTS)
