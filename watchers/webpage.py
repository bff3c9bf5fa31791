"""Web pages without an API (a prefecture's news, a council's decisions, a rival's site): what a page gains is news.

Each poll fetches `url` with the validators of the last answer (If-None-Match, If-Modified-Since), so an
unchanged page costs a 304; a server that ignores them still costs no parsing when the body is byte for byte the
same. Otherwise the page is parsed (lxml), narrowed to `options.selector` (CSS; the whole body without one), and
turned into lines, one per block (paragraph, list item, heading, table row...), whitespace collapsed. What
`options.ignore` matches (dates, counters, clocks: regular expressions, case-insensitive) is taken out of each
line, so it never counts as a change.

A new hash of those lines with lines the page did not have before gives one mention: the added lines, in page
order, matched against the query like any post. Removed or re-ordered lines are not news. The cursor keeps the
validators, the hashes of the body and of the text, and one short hash per line (so what is added is known
without storing the page).

The first poll records the page as one mention (the selected text), which the store keeps quietly like every
watcher's first poll (or posts with `backfill`), and which `/watch test` shows: what the selector catches.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import accumulate
from typing import Any

import lxml.etree
import lxml.html
from cssselect import HTMLTranslator, SelectorError

from veilleur.core.mentions import Mention
from veilleur.core.text import html_to_text, one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    check_options,
    describe_body,
    fetch,
    parse_off_loop,
    raise_for_status,
)

log = logging.getLogger(__name__)

OPTIONS = frozenset({"selector", "ignore"})
MIN_INTERVAL = 300  # a page is somebody's server, not an API: every 5 minutes at most (15 is polite)
MAX_PATTERNS = 20
MAX_PATTERN_LENGTH = 200
MAX_LINES = 5000  # of the selected text, in the cursor
MAX_LINE_CHARS = 1000  # what `ignore` runs on and a line keeps: the text of a block, not a whole page
MAX_MENTION_CHARS = 20_000
LINE_HASH_CHARS = 12  # 48 bits: two lines of one page colliding is a one in ten million chance at 5,000 lines
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Never visible, or not text: removed before the text is read.
INVISIBLE = ("head", "script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """What a page says: its title, language and the normalised lines of the selected text."""

    title: str
    lang: str | None
    lines: list[str]


class WebPageWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        if not config.url:
            raise WatcherFieldError("url", 'a webpage watcher needs the page\'s url: url = "https://example.fr/actualites"')
        if config.interval < MIN_INTERVAL:
            raise WatcherFieldError(
                "interval", f"a web page is polled every {MIN_INTERVAL // 60} minutes at most (15m is polite)"
            )
        check_options(config, OPTIONS)
        self.config = config
        self.context = context
        self.url = config.url
        self.selector, self.xpath = _selector(config.options.get("selector"))
        self.ignore = _patterns(config.options.get("ignore", []))
        # Changing the selector or the patterns changes every line: the page is recorded again, quietly.
        self.settings = _digest(repr((self.selector, [pattern.pattern for pattern in self.ignore])))

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        known = cursor if cursor.get("settings") == self.settings else {}
        headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5"}
        if isinstance(known.get("etag"), str):
            headers["If-None-Match"] = known["etag"]
        if isinstance(known.get("last_modified"), str):
            headers["If-Modified-Since"] = known["last_modified"]
        await self.context.limits.wait(self.url)
        response, body = await fetch(self.context.http, self.url, headers=headers, deadline=self.context.deadline)
        self.context.limits.note(self.url, response.headers)
        if response.status_code == 304 and known:
            return PollResult([], cursor, not_modified=True)
        raise_for_status(response, self.url)
        sent = (("etag", response.headers.get("etag")), ("last_modified", response.headers.get("last-modified")))
        validators = {key: value for key, value in sent if value}
        body_hash = _digest(body)
        if known and body_hash == known.get("body"):
            return PollResult([], {**known, **validators}, not_modified=True)
        content_type = response.headers.get("content-type", "")
        page = await parse_off_loop(partial(self._read, content_type=content_type), body)
        lines = page.lines[:MAX_LINES]
        text_hash = _digest("\n".join(lines))
        line_hashes = [_digest(line)[:LINE_HASH_CHARS] for line in lines]
        next_cursor = {
            "settings": self.settings,
            **validators,
            "body": body_hash,
            "text": text_hash,
            "lines": "".join(sorted(set(line_hashes))),
        }
        if not known:
            if cursor:
                log.info("watcher %s: selector or ignore patterns changed; page recorded again", self.config.name)
                return PollResult([], next_cursor)
            return PollResult(self._mentions(page, lines), next_cursor)
        if text_hash == known.get("text"):
            return PollResult([], next_cursor)
        before = _line_hashes(known.get("lines"))
        added = [line for line, digest in zip(lines, line_hashes, strict=True) if digest not in before]
        return PollResult(self._mentions(page, list(dict.fromkeys(added))), next_cursor)

    def _read(self, body: bytes, *, content_type: str) -> Page:
        return read_page(body, content_type, self.xpath, self.ignore, url=self.url, selector=self.selector)

    def _mentions(self, page: Page, lines: list[str]) -> list[Mention]:
        text = "\n".join(lines)[:MAX_MENTION_CHARS]
        if not text:
            return []
        return [
            Mention(
                source="webpage",
                # The page's address is in it: the same lines added to two pages are two mentions, each linking home.
                external_id=_digest(f"{self.url}\n{text}"),
                url=self.url,
                text=text,
                title=page.title,
                created_at=datetime.now(UTC),
                lang=page.lang,
            )
        ]

    async def thread(self, mention: Mention) -> list[Mention]:
        """A page change has no conversation around it."""
        return [mention]


def read_page(
    body: bytes, content_type: str, xpath: str | None, ignore: list[re.Pattern[str]], *, url: str, selector: str | None
) -> Page:
    """The title, language and normalised lines of a page's selected text. Raises `SourceError` for a body that is
    not a web page, and for a selector that finds nothing (the page was redesigned, or the selector is wrong)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    charset = _charset(content_type, body)
    if media_type == "text/plain":
        return Page("", None, normalised(body.decode(charset, errors="replace").splitlines(), ignore))
    if media_type not in HTML_TYPES and not body.lstrip()[:1] == b"<":
        raise SourceError(f"{url} is not a web page: got {describe_body(body, content_type)}")
    try:
        # lxml refuses text that still declares its encoding: it is decoded already.
        root = lxml.html.document_fromstring(XML_DECLARATION.sub("", body.decode(charset, errors="replace"), count=1))
    except (lxml.etree.ParserError, ValueError) as error:
        raise SourceError(f"{url} sent a page that cannot be read: {error}") from None
    title = one_line(root.findtext(".//title") or "")
    lang = (root.get("lang") or "").strip().lower() or None
    lxml.etree.strip_elements(root, *INVISIBLE, with_tail=False)
    nodes = root.xpath(xpath) if xpath else [root.find("body") if root.find("body") is not None else root]
    if not nodes:
        raise SourceError(
            f"options.selector {selector!r} finds nothing on {url}: the page may have been redesigned; check the "
            "selector in your browser's inspector"
        )
    # Serialised back and read as text the way every source's HTML is (a line per block, entities decoded): the
    # C serialiser and the project's own HTML-to-text are faster than a walk over the elements in Python.
    markup = "<br>".join(
        lxml.etree.tostring(node, method="html", encoding="unicode", with_tail=False)
        for node in nodes
        if isinstance(node, lxml.html.HtmlElement)
    )
    lines = html_to_text(markup).split("\n")
    return Page(title, lang, normalised(lines, ignore))


def normalised(lines: list[str], ignore: list[re.Pattern[str]]) -> list[str]:
    """Each line without what `ignore` matches, whitespace collapsed; empty lines dropped.

    Each pattern runs once over the whole text to find the lines it touches (in C, where one search per line
    and pattern would cost most of the time of a page); only those lines are rewritten, one at a time, so a match
    never runs from one line into the next.
    """
    collapsed = [" ".join(raw.split())[:MAX_LINE_CHARS] for raw in lines]
    if ignore:
        text = "\n".join(collapsed)
        starts = list(accumulate((len(line) + 1 for line in collapsed[:-1]), initial=0))
        touched: set[int] = set()
        for pattern in ignore:
            for match in pattern.finditer(text):
                first = bisect_right(starts, match.start()) - 1
                touched.update(range(first, bisect_right(starts, max(match.end() - 1, match.start()))))
        for index in touched:
            line = collapsed[index]
            for pattern in ignore:
                line = pattern.sub("", line)
            collapsed[index] = " ".join(line.split())
    return [line for line in collapsed if line]


def _charset(content_type: str, body: bytes) -> str:
    """The header's charset, else a <meta> one, else UTF-8; a name Python does not know is UTF-8 too."""
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", content_type, re.IGNORECASE)
    meta = CHARSET.search(body[:4096]) if match is None else None
    name = match[1] if match else meta[1].decode("ascii") if meta else "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def _selector(raw: object) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, str) or not raw.strip():
        raise WatcherFieldError("options", f'selector must be a CSS selector such as "main ul.actus li", got {raw!r}')
    try:
        return raw.strip(), HTMLTranslator().css_to_xpath(raw.strip())
    except SelectorError as error:
        raise WatcherFieldError("options", f"selector {raw!r} is not a CSS selector: {error}") from None


def _patterns(raw: object) -> list[re.Pattern[str]]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > MAX_PATTERNS or not all(isinstance(item, str) for item in items):
        raise WatcherFieldError(
            "options", f"ignore must be a list of at most {MAX_PATTERNS} regular expressions, got {raw!r}"
        )
    patterns = []
    for item in items:
        if not item or len(item) > MAX_PATTERN_LENGTH:
            raise WatcherFieldError("options", f"each ignore pattern takes 1 to {MAX_PATTERN_LENGTH} characters")
        # ".*visits" is tried from every position of a line, each time to its end: quadratic. Its first match
        # starts the line anyway, so anchored it removes the same text in linear time.
        anchored = f"^(?:{item})" if item.startswith(".*") else item
        try:
            patterns.append(re.compile(anchored, re.IGNORECASE | re.MULTILINE))
        except re.error as error:
            message = f"ignore pattern {item!r} is not a regular expression: {error}"
            raise WatcherFieldError("options", message) from None
    return patterns


def _line_hashes(raw: object) -> set[str]:
    if not isinstance(raw, str):
        return set()
    return {raw[start : start + LINE_HASH_CHARS] for start in range(0, len(raw), LINE_HASH_CHARS)}


def _digest(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:32]
