"""Feed bytes (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF, JSON Feed) to normalised entries.

fastfeedparser does the parsing: it is about 100 times faster than feedparser on the same documents (see
bench/bench_feed_parser.py). feedparser, the reference implementation, takes over when fastfeedparser rejects a
document (RSS without <channel>, Atom in a pre-1.0 namespace, CDF, broken markup) and when an entry link is relative
in a document that uses xml:base, which fastfeedparser does not apply. tests/watchers/test_feed_corpus.py holds
the choice against feedparser's own test corpus.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import fastfeedparser
import feedparser

from text import html_to_text, one_line

TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
WEB_SCHEMES = frozenset({"http", "https"})
GOOGLE_REDIRECT_HOST = re.compile(r"^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$")
PLAIN_TEXT_TYPES = frozenset({"text", "text/plain"})

_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_RSS_LANGUAGE = re.compile(r"<(?:dc:)?language>\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*)\s*</(?:dc:)?language>")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
# XML spec appendix F: a document without a byte-order mark still shows its UTF-16/32 form in its first bytes.
_UNMARKED_WIDE_ENCODINGS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# Encodings in which any byte sequence decodes, so a successful decode proves nothing about the label.
_ANY_BYTES_DECODE = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15", "iso8859-2"})
_NOT_A_FEED_SNIPPET = 60


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: str
    link: str
    title: str
    summary: str
    author: str
    published: datetime | None
    lang: str | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str
    lang: str | None
    entries: list[FeedEntry]


class FeedError(ValueError):
    """The bytes are not a feed at all (an HTML page, JSON that is not a JSON Feed, an empty body...)."""


def parse_feed(data: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document into plain-text entries with stable ids and absolute links.

    `url` is the address the document came from (after redirects): relative links resolve against it.
    `content_type` is the HTTP Content-Type header, whose charset, when given, outranks the XML declaration.
    Raises `FeedError` when the bytes hold no feed; never anything else.
    """
    if not data.strip():
        raise FeedError("got an empty body")
    document = decode_document(data, content_type)
    fast = _parse_with_fastfeedparser(document)
    if fast is not None and not _needs_xml_base(fast, data):
        return _feed_from_fastfeedparser(fast, document, url)
    slow = _parse_with_feedparser(document, url)
    if slow is None:
        raise FeedError(f"got {_describe(data, content_type)}, not a feed")
    return _feed_from_feedparser(slow, url)


def canonical_link(url: str) -> str:
    """`url` reduced to what names the page: lower-case scheme and host, no fragment, no utm_*/fbclid/gclid."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    query = "&".join(pair for pair in parts.query.split("&") if pair and not _is_tracking_param(pair))
    return urlunsplit((parts.scheme.lower(), userinfo + at + host.lower(), parts.path, query, ""))


def _is_tracking_param(pair: str) -> bool:
    name = pair.partition("=")[0].lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def decode_document(data: bytes, content_type: str | None = None) -> bytes | str:
    """The document as a parser should read it: the bytes untouched when they are the UTF-8 they say they are,
    else the text decoded here.

    Order of trust: a byte-order mark, then valid UTF-8 (labels lie far more often than UTF-8 happens by chance:
    feeds written in UTF-8 and declared ISO-8859-1 are common), then the HTTP charset, the XML declaration, and
    windows-1252, whose decoding of Latin text is right more often than not.
    """
    data = data.lstrip(b" \t\r\n")
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return _decode_or_replace(data[len(mark) :], encoding)
    for prefix, encoding in _UNMARKED_WIDE_ENCODINGS:
        if data.startswith(prefix):
            return _decode_or_replace(data, encoding)
    labels = [label for label in (_http_charset(content_type), _declared_encoding(data)) if label]
    declared_utf8 = not labels or labels[-1] == "utf-8"
    if data.isascii() and declared_utf8:
        return data
    trust_utf8_first = not labels or labels[0] in _ANY_BYTES_DECODE or labels[0] == "utf-8"
    candidates = ["utf-8", *labels] if trust_utf8_first else [*labels, "utf-8"]
    for encoding in [*candidates, "cp1252"]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return data if encoding == "utf-8" and declared_utf8 else text
    return data.decode("utf-8", errors="replace")


def _decode_or_replace(data: bytes, encoding: str) -> str:
    return data.decode(encoding, errors="replace").lstrip(" \t\r\n")


def _http_charset(content_type: str | None) -> str | None:
    match = _CHARSET_PARAM.search(content_type or "")
    return _codec_name(match.group(1)) if match else None


def _declared_encoding(data: bytes) -> str | None:
    match = _XML_DECLARED_ENCODING.match(data, 0, 512)
    return _codec_name(match.group(1).decode("ascii")) if match else None


def _codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # The wider encodings that browsers substitute for these labels: a document labelled with the narrow one
    # nearly always uses characters of the wider one.
    return {"gb2312": "gb18030", "iso8859-1": "cp1252", "ascii": "cp1252"}.get(name, name)


def _parse_with_fastfeedparser(document: bytes | str) -> dict[str, Any] | None:
    try:
        return fastfeedparser.parse(document)
    except Exception:
        # fastfeedparser raises ValueError for what it rejects, and lxml errors for worse; feedparser gets a go.
        return None


def _needs_xml_base(parsed: Mapping[str, Any], data: bytes) -> bool:
    """Whether an entry link is relative in a document that says what it is relative to (fastfeedparser ignores
    xml:base)."""
    return b"xml:base" in data and any(not _is_absolute(entry.get("link") or "") for entry in parsed["entries"])


def _is_absolute(url: str) -> bool:
    return "://" in url[:16]


def _parse_with_feedparser(document: bytes | str, url: str) -> Any | None:
    body = document.encode("utf-8") if isinstance(document, str) else document
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    # Always bytes: given a str, feedparser would fetch it as a URL or open it as a file.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.get("entries"):
        return None
    return parsed


def _feed_from_fastfeedparser(parsed: Mapping[str, Any], document: bytes | str, url: str) -> ParsedFeed:
    feed = parsed.get("feed") or parsed
    lang = _clean_lang(feed.get("language")) or _rss_language(document)
    base = url
    entries = [_entry_from_fastfeedparser(entry, base, lang) for entry in parsed["entries"]]
    return ParsedFeed(
        title=one_line(html_to_text(feed.get("title") or "")),
        link=_absolute_link(feed.get("link") or "", base),
        lang=lang,
        entries=entries,
    )


def _rss_language(document: bytes | str) -> str | None:
    head = document[:4096]
    text = head.decode("utf-8", errors="replace") if isinstance(head, bytes) else head
    match = _RSS_LANGUAGE.search(text)
    return _clean_lang(match.group(1)) if match else None


def _entry_from_fastfeedparser(entry: Mapping[str, Any], base: str, feed_lang: str | None) -> FeedEntry:
    link = _absolute_link(entry.get("link") or "", base)
    raw_id = (entry.get("id") or "").strip()
    contents = entry.get("content") or []
    bodies = [(content.get("value") or "", content.get("type") or "") for content in contents]
    bodies.append((entry.get("description") or "", ""))
    bodies.extend((media.get("description") or "", "text") for media in entry.get("media_content") or [])
    title = _title_text(entry.get("title") or "")
    summary = _richest_text(bodies)
    entry_lang = next((_clean_lang(content.get("language")) for content in contents if content.get("language")), None)
    return FeedEntry(
        # fastfeedparser copies the link into a missing id: such an id is a link, and canonicalised as one.
        id=_entry_id(raw_id if raw_id != entry.get("link") else "", link, title, summary),
        link=link,
        title=title,
        summary=summary,
        author=one_line(html_to_text(entry.get("author") or "")),
        published=_iso_datetime(entry.get("published")) or _iso_datetime(entry.get("updated")),
        lang=entry_lang or feed_lang,
    )


def _feed_from_feedparser(parsed: Any, url: str) -> ParsedFeed:
    feed = parsed.get("feed", {})
    lang = _clean_lang(feed.get("language"))
    entries = [_entry_from_feedparser(entry, url, lang) for entry in parsed.get("entries", [])]
    return ParsedFeed(
        title=one_line(html_to_text(feed.get("title", ""))),
        link=_absolute_link(feed.get("link", ""), url),
        lang=lang,
        entries=entries,
    )


def _entry_from_feedparser(entry: Any, base: str, feed_lang: str | None) -> FeedEntry:
    link = _absolute_link(entry.get("link", ""), base)
    title_detail = entry.get("title_detail") or {}
    title = _title_text(entry.get("title", ""), title_detail.get("type", ""))
    bodies = [(content.get("value", ""), content.get("type", "")) for content in entry.get("content", [])]
    summary_detail = entry.get("summary_detail") or {}
    bodies.append((entry.get("summary", ""), summary_detail.get("type", "")))
    summary = _richest_text(bodies)
    return FeedEntry(
        id=_entry_id(entry.get("id", "").strip(), link, title, summary),
        link=link,
        title=title,
        summary=summary,
        author=one_line(html_to_text(entry.get("author", ""))),
        published=_struct_datetime(entry.get("published_parsed")) or _struct_datetime(entry.get("updated_parsed")),
        lang=_clean_lang(title_detail.get("language")) or feed_lang,
    )


def _title_text(raw: str, content_type: str = "") -> str:
    return one_line(raw if content_type in PLAIN_TEXT_TYPES else html_to_text(raw))


def _richest_text(bodies: Iterable[tuple[str, str]]) -> str:
    """The plain text of the longest body: content:encoded and Atom content usually hold the whole article,
    description and summary an excerpt. Only the chosen one is converted."""
    raw, content_type = max(bodies, key=lambda body: len(body[0]), default=("", ""))
    return raw.strip() if content_type in PLAIN_TEXT_TYPES else html_to_text(raw)


def _entry_id(raw_id: str, link: str, title: str, summary: str) -> str:
    """The guid or Atom id, else the canonical link, else a hash of the text (never of dates: a re-dated item
    must keep its id)."""
    if raw_id:
        return raw_id
    if link:
        return canonical_link(link)
    digest = hashlib.sha1(f"{title}\n{summary}".encode(), usedforsecurity=False).hexdigest()
    return f"sha1:{digest}"


def _absolute_link(raw: str, base: str) -> str:
    """`raw` resolved against `base`, with Google redirect wrappers removed; "" unless it is an http(s) URL."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        link = urljoin(base, raw) if base else raw
        parts = urlsplit(link)
    except ValueError:
        return ""
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return ""
    if parts.path == "/url" and GOOGLE_REDIRECT_HOST.match(parts.hostname or ""):
        return _unwrap_google_redirect(parts.query) or link
    return link


def _unwrap_google_redirect(query: str) -> str | None:
    params = dict(parse_qsl(query))
    target = params.get("url") or params.get("q") or ""
    return target if urlsplit(target).scheme.lower() in WEB_SCHEMES else None


def _iso_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _struct_datetime(value: Any) -> datetime | None:
    """A feedparser date: a UTC struct_time."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _clean_lang(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _describe(data: bytes, content_type: str | None) -> str:
    """A short account of bytes that are not a feed, for the error shown to the team."""
    head = data.lstrip()[:512].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head:
        what = "an HTML page"
    elif head[:1] in (b"{", b"["):
        what = "JSON that is not a JSON Feed"
    else:
        snippet = data.lstrip()[:_NOT_A_FEED_SNIPPET].decode("utf-8", errors="replace")
        what = f"content starting {snippet!r}"
    return f"{what} ({content_type})" if content_type else what
