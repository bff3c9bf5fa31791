"""Feed bytes (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF, JSON Feed) to normalised entries.

fastfeedparser does the parsing: it is about 100 times faster than feedparser on the same documents (see
bench/bench_feed_parser.py). feedparser, the reference implementation, takes over where fastfeedparser is known to
fall short: documents it rejects (RSS without <channel>, CDF, Atom without a namespace...), Atom 0.3, documents that
declare their own entities, RSS 0.90 (no entry found), Atom titles of type xhtml (read as empty), and relative
entry links in a document using xml:base (which it ignores). Before fastfeedparser reads a document, HTML entities
and bare ampersands are made valid XML, which its recovering parser would otherwise cut text short at.
tests/watchers/test_feed_corpus.py holds these choices against feedparser's own test corpus.
"""

from __future__ import annotations

import codecs
import hashlib
import html.entities
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import fastfeedparser
import feedparser

from veilleur.core.i18n import Phrase
from veilleur.core.text import collapse_blanks, html_to_text, one_line
from watchers.base import describe_body

TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
WEB_SCHEMES = frozenset({"http", "https"})
GOOGLE_REDIRECT_HOST = re.compile(r"^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$")
PLAIN_TEXT_TYPES = frozenset({"text", "text/plain"})

_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_RSS_LANGUAGE = re.compile(rb"<(?:dc:)?language>\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*)\s*</(?:dc:)?language>")
_ATOM_03_NAMESPACE = b"http://purl.org/atom/ns#"
_SUSPECT_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)")
_AMPERSAND_OR_CDATA = re.compile(
    rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)([A-Za-z][A-Za-z0-9]{1,31};)?",
    re.DOTALL,
)
_ENTITY_DECLARATION = re.compile(rb"""<!ENTITY\s+(%\s*)?([^\s"'%>]+)\s+("[^"]*"|'[^']*')?""")
_ENTITY_REFERENCE = re.compile(rb"&([^\s&;#<>]{1,64});")
MAX_ENTITY_EXPANSION = 1024 * 1024  # feeds declare a few short entities ("tag:example.com,"); far less than this
MAX_DECLARED_ENTITIES = 64
_XHTML_TITLE = re.compile(rb"""<(?:[\w.-]+:)?title\b[^>]*\btype\s*=\s*["'](?:xhtml|application/xhtml\+xml)["']""")
_WEB_URL = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)
# Already in canonical form: lower-case scheme and host, no user, query or fragment, nothing urlsplit would drop.
_CANONICAL_WEB_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]*)?(?:/[^?#\s]*)?", re.ASCII)
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
    """The bytes are not a feed at all (an HTML page, JSON that is not a JSON Feed, an empty body...): `phrase`
    says why, `str()` in English."""

    def __init__(self, phrase: Phrase) -> None:
        super().__init__(str(phrase))
        self.phrase = phrase


def parse_feed(data: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document into plain-text entries with stable ids and absolute links.

    `url` is the address the document came from (after redirects): relative links resolve against it.
    `content_type` is the HTTP Content-Type header, whose charset, when given, outranks the XML declaration.
    Raises `FeedError` when the bytes hold no feed; never anything else.
    """
    if not data.strip():
        raise FeedError(Phrase.of("error.feed.empty"))
    document = utf8_document(data, content_type)
    if b"<!ENTITY" in document and entity_expansion(document) > MAX_ENTITY_EXPANSION:
        raise FeedError(Phrase.of("error.feed.bomb"))
    fast = None if _fastfeedparser_misreads(document) else _parse_with_fastfeedparser(repair_entities(document))
    if fast is not None and _is_complete(fast, document):
        return _feed_from_fastfeedparser(fast, document, url)
    slow = _parse_with_feedparser(document, url)
    if slow is None:
        raise FeedError(Phrase.of("error.feed.not_a_feed", body=_describe(data, content_type)))
    return _feed_from_feedparser(slow, url)


def canonical_link(url: str) -> str:
    """`url` reduced to what names the page: lower-case scheme and host, no fragment, no utm_*/fbclid/gclid."""
    url = url.strip()
    if _CANONICAL_WEB_URL.fullmatch(url):
        return url
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


def utf8_document(data: bytes, content_type: str | None = None) -> bytes:
    """The document in UTF-8, its XML declaration saying so: the bytes untouched when they already are.

    Order of trust: a byte-order mark, then valid UTF-8 (labels lie far more often than UTF-8 happens by chance:
    feeds written in UTF-8 and declared ISO-8859-1 are common), then the HTTP charset, the XML declaration, UTF-8
    with its few broken bytes replaced when it is mostly UTF-8, and windows-1252, whose reading of Latin text is
    right more often than not.
    """
    data = data.lstrip(b" \t\r\n")
    text = _decoded_unless_utf8(data, content_type)
    if text is None:
        return data
    encoded = text.lstrip(" \t\r\n").encode("utf-8")
    declared = _XML_DECLARED_ENCODING.match(encoded, 0, 512)
    return encoded[: declared.start(1)] + b"utf-8" + encoded[declared.end(1) :] if declared else encoded


def _decoded_unless_utf8(data: bytes, content_type: str | None) -> str | None:
    """The text of `data`, or None when a parser reading the bytes as they declare themselves gets it right."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return data[len(mark) :].decode(encoding, errors="replace")
    for prefix, encoding in _UNMARKED_WIDE_ENCODINGS:
        if data.startswith(prefix):
            return data.decode(encoding, errors="replace")
    declaration = _XML_DECLARED_ENCODING.match(data, 0, 512)
    declared = _codec_name(declaration.group(1).decode("ascii")) if declaration else None
    read_as_utf8 = declaration is None or declared == "utf-8"
    if read_as_utf8 and data.isascii():
        return None
    labels = [label for label in (_http_charset(content_type), declared) if label]
    utf8_first = not labels or labels[0] in _ANY_BYTES_DECODE or labels[0] == "utf-8"
    for encoding in ["utf-8", *labels] if utf8_first else [*labels, "utf-8"]:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return None if encoding == "utf-8" and read_as_utf8 else text
    if utf8_first and _UTF8_SEQUENCE.search(data):
        # UTF-8 with a few broken bytes: those bytes cost their characters, not the accents of the whole feed.
        return data.decode("utf-8", errors="replace")
    return data.decode("cp1252", errors="replace")


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _http_charset(content_type: str | None) -> str | None:
    match = _CHARSET_PARAM.search(content_type or "")
    return _codec_name(match.group(1)) if match else None


def _codec_name(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # Browsers read these labels as the wider encoding: documents so labelled nearly always use its characters.
    return {"gb2312": "gb18030", "iso8859-1": "cp1252", "ascii": "cp1252"}.get(name, name)


def repair_entities(document: bytes) -> bytes:
    """`document` with every "&" that XML would reject made into a reference it accepts.

    Feeds use HTML's named entities (&eacute;, &nbsp;) and bare ampersands (AT&T, ?a=1&b=2) without a DTD; the
    recovering XML parser under fastfeedparser cuts the text short at each. Named ones become character
    references, the rest &amp;, as feedparser reads them. CDATA sections are literal and left alone.
    """
    if not _SUSPECT_AMPERSAND.search(document):
        return document
    return _AMPERSAND_OR_CDATA.sub(_repaired_ampersand, document)


def _repaired_ampersand(match: re.Match[bytes]) -> bytes:
    if match.group(0).startswith(b"<"):
        return match.group(0)
    name = match.group(1)
    characters = html.entities.html5.get(name.decode("ascii")) if name else None
    if characters is None:
        return b"&amp;" + (name or b"")
    return "".join(f"&#{ord(character)};" for character in characters).encode("ascii")


def entity_expansion(document: bytes) -> float:
    """How many bytes the references to the document's own entities expand to, over-estimated (references in
    comments count too); infinite when it cannot be told (a reference cycle, entities declared out of sight).

    The parsers' own guards are not enough: expat stops entity expansion only past 100 times the input, so a 10 MB
    document (10 kB of gzip) could still expand to 1 GB; lxml keeps references unexpanded.
    """
    values: dict[bytes, bytes] = {}
    for declaration in _ENTITY_DECLARATION.finditer(document):
        parameter, name, value = declaration.group(1, 2, 3)
        if value is None:
            continue  # an external entity: the parsers never fetch it
        if parameter or len(values) >= MAX_DECLARED_ENTITIES:
            return math.inf  # a parameter entity can declare more entities, out of this count's sight
        values.setdefault(name, value[1:-1])
    sizes: dict[bytes, float] = {}

    def size(name: bytes) -> float:
        if name not in sizes:
            sizes[name] = math.inf  # until computed: a reference cycle stays infinite
            sizes[name] = len(values[name]) + sum(size(ref) for ref in _references(values[name], values))
        return sizes[name]

    return sum(size(ref) for ref in _references(document, values))


def _references(text: bytes, declared: Mapping[bytes, bytes]) -> list[bytes]:
    return [name for name in _ENTITY_REFERENCE.findall(text) if name in declared]


def _fastfeedparser_misreads(document: bytes) -> bool:
    """Documents whose reading by fastfeedparser is known to lose entries' text: Atom 0.3 (base64 titles,
    issued/modified dates, relative ids) and documents declaring their own entities."""
    if _ATOM_03_NAMESPACE in document[:4096]:
        return True
    # Anywhere, not only in the first bytes: comments may push a DOCTYPE (an XML bomb's) far down, and
    # fastfeedparser would then leave its entity references in the text.
    return b"<!ENTITY" in document and b"<!DOCTYPE" in document


def _is_complete(parsed: Mapping[str, Any], document: bytes) -> bool:
    """Whether fastfeedparser's result misses nothing that feedparser would find.

    It finds no entry in RSS 0.90 (and in some broken documents) where feedparser does; it leaves Atom titles
    of type xhtml empty; it ignores xml:base, which matters when an entry link is relative.
    """
    entries = _dicts(parsed.get("entries"))
    if not entries:
        return b"<item" not in document and b"<entry" not in document
    if any(not _text_field(entry, "title") for entry in entries) and _XHTML_TITLE.search(document):
        return False
    return all(_is_absolute(_text_field(entry, "link")) for entry in entries) or b"xml:base" not in document


def _parse_with_fastfeedparser(document: bytes) -> dict[str, Any] | None:
    try:
        return fastfeedparser.parse(document)
    except Exception:
        # fastfeedparser raises ValueError for what it rejects, and lxml errors for worse; feedparser gets a go.
        return None


def _is_absolute(url: str) -> bool:
    return "://" in url[:16]


def _parse_with_feedparser(document: bytes, url: str) -> Mapping[str, Any] | None:
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    try:
        # Always bytes: given a str, feedparser would fetch it as a URL or open it as a file.
        parsed = feedparser.parse(document, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except Exception:
        # feedparser has its own bugs on broken documents (a KeyError in its GeoRSS handler, for one).
        return None
    if not parsed.get("version") and not parsed.get("entries"):
        return None
    return parsed


def _feed_from_fastfeedparser(parsed: Mapping[str, Any], document: bytes, url: str) -> ParsedFeed:
    feed = parsed.get("feed") or {}
    lang = _clean_lang(_text_field(feed, "language")) or _rss_language(document)
    entries = [_entry_from_fastfeedparser(entry, url, lang) for entry in _dicts(parsed.get("entries"))]
    return ParsedFeed(
        title=_text_line(_text_field(feed, "title")),
        link=_absolute_link(_text_field(feed, "link"), url),
        lang=lang,
        entries=entries,
    )


def _rss_language(document: bytes) -> str | None:
    match = _RSS_LANGUAGE.search(document, 0, 8192)
    return _clean_lang(match.group(1).decode("ascii")) if match else None


def _entry_from_fastfeedparser(entry: Mapping[str, Any], base: str, feed_lang: str | None) -> FeedEntry:
    raw_link = _text_field(entry, "link")
    link = _absolute_link(raw_link, base)
    bodies = [(_text_field(entry, "description"), "")]
    entry_lang = None
    for content in _dicts(entry.get("content")):
        bodies.append((_text_field(content, "value"), _text_field(content, "type")))
        entry_lang = entry_lang or _clean_lang(_text_field(content, "language"))
    # YouTube and other video feeds describe an entry only in media:description.
    bodies.extend((_text_field(media, "description"), "text") for media in _dicts(entry.get("media_content")))
    title = _text_line(_text_field(entry, "title"))
    summary = _richest_text(bodies)
    raw_id = _text_field(entry, "id").strip()
    return FeedEntry(
        # fastfeedparser copies the link into a missing id: such an id is a link, and canonicalised as one.
        id=_entry_id("" if raw_id == raw_link else raw_id, link, title, summary),
        link=link,
        title=title,
        summary=summary,
        author=_text_line(_text_field(entry, "author")),
        published=_iso_datetime(_text_field(entry, "published")) or _iso_datetime(_text_field(entry, "updated")),
        lang=entry_lang or feed_lang,
    )


def _text_field(mapping: Mapping[str, Any], key: str) -> str:
    """A field as text. JSON Feed values reach us as the JSON had them, and the JSON is hostile: an id may be a
    number, a title a list."""
    value = mapping.get(key)
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _feed_from_feedparser(parsed: Mapping[str, Any], url: str) -> ParsedFeed:
    feed = parsed.get("feed") or {}
    lang = _clean_lang(_text_field(feed, "language"))
    entries = [_entry_from_feedparser(entry, url, lang) for entry in _dicts(parsed.get("entries"))]
    return ParsedFeed(
        title=_text_line(_text_field(feed, "title")),
        link=_absolute_link(_text_field(feed, "link"), url),
        lang=lang,
        entries=entries,
    )


def _entry_from_feedparser(entry: dict[str, Any], base: str, feed_lang: str | None) -> FeedEntry:
    # feedparser's `link` is the last <link> with an href, whatever its rel: an enclosure can take the place of
    # the page.
    links = _dicts(entry.get("links"))
    alternates = [_text_field(link, "href") for link in links if link.get("rel") == "alternate"]
    link = _absolute_link(next(filter(None, alternates), _text_field(entry, "link")), base)
    title_detail = entry.get("title_detail") or {}
    title = _text_line(_text_field(entry, "title"), _text_field(title_detail, "type"))
    bodies = [(_text_field(content, "value"), _text_field(content, "type")) for content in _dicts(entry.get("content"))]
    summary_detail = entry.get("summary_detail") or {}
    bodies.append((_text_field(entry, "summary"), _text_field(summary_detail, "type")))
    summary = _richest_text(bodies)
    # dict.get: feedparser's own get() warns when asked for a date the entry lacks.
    published = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    return FeedEntry(
        id=_entry_id(_text_field(entry, "id").strip(), link, title, summary),
        link=link,
        title=title,
        summary=summary,
        author=_text_line(_text_field(entry, "author")),
        published=_struct_datetime(published),
        lang=_clean_lang(_text_field(title_detail, "language")) or feed_lang,
    )


def _text_line(raw: str, content_type: str = "") -> str:
    """One line of plain text from a field that may hold HTML (a title, an author's name)."""
    is_html = content_type not in PLAIN_TEXT_TYPES and ("<" in raw or "&" in raw)
    return one_line(html_to_text(raw) if is_html else raw)


def _richest_text(bodies: list[tuple[str, str]]) -> str:
    """The plain text of the longest body: content:encoded and Atom content usually hold the whole article,
    description and summary an excerpt. Only the chosen one is converted."""
    raw, content_type = bodies[0]
    for body in bodies[1:]:
        if len(body[0]) > len(raw):
            raw, content_type = body
    return collapse_blanks(raw) if content_type in PLAIN_TEXT_TYPES else html_to_text(raw)


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
    if _WEB_URL.match(raw) and "google." not in raw:
        return raw
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
    return target if _WEB_URL.match(target) else None


def _iso_datetime(value: str) -> datetime | None:
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


def _describe(data: bytes, content_type: str | None) -> Phrase:
    """A short account of bytes that are not a feed, for the error shown to the team."""
    if data.lstrip()[:1] in (b"{", b"["):
        what = Phrase.of("error.body.json_not_feed")
        return Phrase.of("error.body.typed", body=what, content_type=content_type) if content_type else what
    return describe_body(data, content_type)
