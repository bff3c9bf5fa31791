from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchers.feed_parser import FeedError, canonical_link, parse_feed

FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def rss(items: str, *, channel: str = "", declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        f'{declaration}<rss version="2.0"><channel><title>T</title><link>https://example.org/</link>{channel}'
        f"{items}</channel></rss>"
    ).encode()


# Real fixtures


def test_google_alerts_links_are_unwrapped_and_titles_lose_their_markup() -> None:
    feed = parse_feed(fixture("google_alerts_atom_slack.xml"))

    assert len(feed.entries) == 20
    first = feed.entries[0]
    assert first.link == (
        "https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-market-by-top-key-"
        "players-like-haldex-meritor-bendix-mei-wabco-accuride-stemco-tbk-febi-aydinsan/"
    )
    assert first.title == (
        "Report offers Prediction of Automotive Slack Market by Top key players like Haldex, Meritor, Bendix ..."
    )
    assert first.id == "tag:google.com,2013:googlealerts/feed:8974135267215335962"
    assert first.published == datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)
    for entry in feed.entries:
        assert not entry.link.startswith("https://www.google.com/url"), entry.link
        assert "<" not in entry.title and "&nbsp;" not in entry.summary
    assert feed.entries[1].summary.endswith("Company's decision to go public via ...")


def test_huffpost_cdata_titles_and_namespaced_authors() -> None:
    feed = parse_feed(fixture("news_rss2_huffpost_canada.xml"))

    assert feed.lang == "en"
    assert [entry.title for entry in feed.entries] == [
        "Winnipeg High School Orders Custom Hijabs For Muslim Athletes",
        "The Once-In-A-Lifetime Thrill Of Opening For Tom Petty",
    ]
    first = feed.entries[0]
    assert first.id == "23246627"
    assert first.author == "Canadian Press"
    assert first.published == datetime(2017, 10, 17, 22, 17, tzinfo=UTC)
    assert first.summary.startswith("Winnipeg high school student Nusaybah Mohamed's basketball uniform")
    assert "<p>" not in first.summary and "\n" in first.summary


def test_hacker_news_items_without_guid_are_identified_by_their_link() -> None:
    feed = parse_feed(fixture("hn_frontpage_rss2_no_guid.xml"))

    assert len(feed.entries) == 30
    assert feed.entries[1].id == "https://openai.com/dall-e-2/"
    assert all(entry.id == entry.link for entry in feed.entries)
    assert len({entry.id for entry in feed.entries}) == 30


def test_french_feed_keeps_accents_and_converts_offsets_to_utc() -> None:
    feed = parse_feed(fixture("SYNTHETIC_fr_news_rss2.xml"))

    assert feed.title == "Le Quotidien d'Exemple – À la une"
    assert feed.lang == "fr-FR"
    first, second, third = feed.entries
    assert first.title == "Saint-Étienne-de-Baïgorry : le maire annonce un budget participatif « inédit »"
    assert first.author == "Élodie Martin"
    assert first.lang == "fr-FR"
    assert first.published == datetime(2025, 11, 18, 7, 47, 10, tzinfo=UTC)  # 08:47:10 +0100
    assert second.title == "Réforme des retraites : ce qu’il faut retenir du discours de la ministre"  # &#8217;
    assert third.published == datetime(2025, 7, 2, 12, 30, tzinfo=UTC)  # 14:30 +0200
    assert third.summary == "L’entreprise assure que « moins de 1 % » des lots sont concernés."
    assert first.published.tzinfo is UTC


def test_youtube_feed_with_leading_whitespace() -> None:
    data = fixture("channel_feed_atom.xml")
    assert data.startswith(b"\n<?xml")

    feed = parse_feed(data)

    assert feed.title == "Google"
    assert len(feed.entries) == 15
    first = feed.entries[0]
    assert first.id == "yt:video:5shykyfmb28"
    assert first.link == "http://www.youtube.com/watch?v=5shykyfmb28"
    assert first.summary.startswith("A question is the most powerful force in the world.")  # media:description


# Ids


def test_guid_marked_not_a_permalink_is_still_the_id() -> None:
    feed = parse_feed(
        rss(
            "<item><title>A</title><link>https://example.org/a?utm_source=x</link>"
            '<guid isPermaLink="false">article-42</guid></item>'
        )
    )

    assert feed.entries[0].id == "article-42"
    assert feed.entries[0].link == "https://example.org/a?utm_source=x"


def test_id_falls_back_to_the_canonical_link() -> None:
    feed = parse_feed(
        rss("<item><title>A</title><link>HTTPS://Example.ORG/a?id=3&amp;utm_medium=rss#top</link></item>")
    )

    assert feed.entries[0].id == "https://example.org/a?id=3"


def test_item_without_guid_or_link_gets_a_content_hash_that_ignores_its_date() -> None:
    def only_item(title: str, date: str) -> str:
        feed = parse_feed(
            rss(f"<item><title>{title}</title><description>Body</description><pubDate>{date}</pubDate></item>")
        )
        return feed.entries[0].id

    first = only_item("Same", "Mon, 17 Nov 2025 21:05:00 +0100")

    assert first.startswith("sha1:") and len(first) == len("sha1:") + 40
    assert only_item("Same", "Tue, 18 Nov 2025 10:00:00 +0000") == first
    assert only_item("Other", "Mon, 17 Nov 2025 21:05:00 +0100") != first


# Links


def test_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse_feed(
        rss("<item><title>A</title><link>/posts/1</link></item>"), url="https://blog.example.org/feed.xml"
    )

    assert feed.entries[0].link == "https://blog.example.org/posts/1"
    assert feed.entries[0].id == "https://blog.example.org/posts/1"


def test_relative_links_resolve_against_xml_base() -> None:
    data = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example.net/blog/">'
        b'<title>T</title><entry><id>urn:1</id><title>A</title><link href="post-1.html"/></entry></feed>'
    )

    feed = parse_feed(data, url="https://feeds.example.org/atom.xml")

    assert feed.entries[0].link == "https://other.example.net/blog/post-1.html"


def test_links_that_are_not_web_addresses_are_dropped() -> None:
    feed = parse_feed(rss("<item><title>A</title><link>javascript:alert(1)</link></item>"))

    assert feed.entries[0].link == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path/Page?b=2&a=1", "https://www.example.com/Path/Page?b=2&a=1"),
        (
            "https://example.com/a?utm_source=rss&id=7&UTM_Campaign=x&fbclid=abc&gclid=def#comments",
            "https://example.com/a?id=7",
        ),
        ("https://user:PassWord@Example.com:8443/x", "https://user:PassWord@example.com:8443/x"),
        ("https://example.com/?q=a%20b&utm_term=z", "https://example.com/?q=a%20b"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_canonical_link(url: str, expected: str) -> None:
    assert canonical_link(url) == expected


# Formats, encodings, malformed input


@pytest.mark.parametrize(
    "data",
    [
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        b'<channel rdf:about="https://example.org/"><title>T</title></channel>'
        b'<item rdf:about="https://example.org/1"><title>Item one</title><link>https://example.org/1</link></item>'
        b"</rdf:RDF>",
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">'
        b"<channel><title>T</title></channel><item><title>Item one</title><link>https://example.org/1</link></item>"
        b"</rdf:RDF>",
        b'<rss version="0.91"><channel><title>T</title><item><title>Item one</title>'
        b"<link>https://example.org/1</link></item></channel></rss>",
        b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title><entry><title>Item one</title>'
        b'<link rel="alternate" type="text/html" href="https://example.org/1"/><id>https://example.org/1</id></entry></feed>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">Item <b>one</b></div></title>'
        b'<link href="https://example.org/1"/><id>https://example.org/1</id></entry></feed>',
    ],
    ids=["rss1.0", "rss0.90", "rss0.91", "atom0.3", "atom1.0-xhtml-title"],
)
def test_every_feed_format(data: bytes) -> None:
    feed = parse_feed(data)

    assert [(entry.title, entry.link) for entry in feed.entries] == [("Item one", "https://example.org/1")]


def test_a_feed_without_entries_is_valid() -> None:
    feed = parse_feed(rss("", channel="<language>de</language>"))

    assert feed.entries == [] and feed.title == "T" and feed.lang == "de"


def test_entry_language_overrides_the_feed_language() -> None:
    data = (
        b'<rss version="2.0"><channel><title>T</title><language>fr</language>'
        b'<item xml:lang="en"><title>A</title><link>https://example.org/a</link><description>x</description></item>'
        b"<item><title>B</title><link>https://example.org/b</link></item></channel></rss>"
    )

    assert [entry.lang for entry in parse_feed(data).entries] == ["en", "fr"]


def test_truncated_xml_still_yields_the_complete_items() -> None:
    data = fixture("SYNTHETIC_fr_news_rss2.xml")
    cut = data.index(b"<item>", data.index(b"<item>") + 1) + 40

    feed = parse_feed(data[:cut])

    assert feed.entries[0].title.startswith("Saint-Étienne-de-Baïgorry")


def test_html_entities_and_bare_ampersands_survive() -> None:
    feed = parse_feed(
        rss(
            "<item><title>Caf&eacute;&nbsp;d&eacute;co &amp; AT&T</title><link>https://example.org/?a=1&b=2</link>"
            "<description>Q&A &copy; 2025</description></item>"
        )
    )

    entry = feed.entries[0]
    assert (entry.title, entry.link, entry.summary) == (
        "Café déco & AT&T",
        "https://example.org/?a=1&b=2",
        "Q&A © 2025",
    )


def test_a_10000_character_title_survives() -> None:
    title = "mot " * 2500

    feed = parse_feed(rss(f"<item><title>{title}</title><link>https://example.org/1</link></item>"))

    assert feed.entries[0].title == title.strip()
    assert len(feed.entries[0].title) == 9999


ACCENTED = "Élodie déjà à Noël “cité”"


@pytest.mark.parametrize(
    ("declaration", "encoding", "content_type"),
    [
        ('<?xml version="1.0" encoding="ISO-8859-1"?>', "cp1252", None),  # curly quotes: windows-1252 really
        ('<?xml version="1.0" encoding="windows-1252"?>', "cp1252", "application/rss+xml"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>', "utf-8", None),  # declared Latin-1, written UTF-8
        ('<?xml version="1.0"?>', "cp1252", "application/rss+xml; charset=windows-1252"),  # only HTTP says so
        ('<?xml version="1.0" encoding="UTF-8"?>', "cp1252", None),  # declared UTF-8, written windows-1252
        ('<?xml version="1.0" encoding="UTF-16"?>', "utf-16", None),  # with a byte-order mark
        ('<?xml version="1.0" encoding="UTF-16LE"?>', "utf-16-le", None),  # without one
    ],
)
def test_non_utf8_encodings(declaration: str, encoding: str, content_type: str | None) -> None:
    text = rss(f"<item><title>{ACCENTED}</title><link>https://example.org/1</link></item>", declaration=declaration)

    feed = parse_feed(text.decode().encode(encoding), content_type=content_type)

    assert feed.entries[0].title == ACCENTED


def test_cjk_encoding_declared_in_the_document() -> None:
    title = "東京の天気"
    data = rss(f"<item><title>{title}</title></item>", declaration='<?xml version="1.0" encoding="Shift_JIS"?>')

    assert parse_feed(data.decode().encode("shift_jis")).entries[0].title == title


# Not feeds


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"", None, "empty body"),
        (b"  \n\t ", None, "empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            "text/html",
            "HTML page",
        ),
        (b'{"error": "rate limited"}', "application/json", "JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "PNG"),
    ],
)
def test_what_is_not_a_feed_raises_feed_error_saying_what_it_got(
    data: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(data, content_type=content_type)


def test_json_feed_is_a_feed() -> None:
    data = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1", '
        b'"url": "https://example.org/1", "title": "One", "content_html": "<p>Hello</p>"}]}'
    )

    entry = parse_feed(data).entries[0]

    assert (entry.id, entry.link, entry.title, entry.summary) == ("1", "https://example.org/1", "One", "Hello")


def test_hostile_markup_costs_linear_time() -> None:
    body = "&lt;a " * 50_000 + "&amp;" * 50_000
    data = rss(f"<item><title>x</title><description>{body}</description></item>")

    started = time.perf_counter()
    feed = parse_feed(data)

    assert time.perf_counter() - started < 2.0
    assert feed.entries[0].summary.startswith("<a <a")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"id": 42, "title": "Numbered", "url": "https://example.org/42"},
            ("42", "Numbered", "https://example.org/42"),
        ),
        ({"id": "a", "title": ["not", "text"], "url": 7}, ("a", "", "")),
        ({"title": {"nested": 1}, "url": "javascript:alert(1)", "content_html": None}, (None, "", "")),
    ],
)
def test_hostile_json_feed_values_become_empty_text(
    item: dict[str, object], expected: tuple[str | None, str, str]
) -> None:
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [item]})

    feed = parse_feed(data.encode())

    entry_id, title, link = expected
    assert [(entry.title, entry.link) for entry in feed.entries] == [(title, link)]
    assert feed.entries[0].id == entry_id if entry_id else feed.entries[0].id.startswith("sha1:")


def test_mangled_documents_parse_or_raise_feed_error_only() -> None:
    rng = random.Random(20251124)
    documents = [path.read_bytes() for path in sorted(FEEDS.glob("*.xml"))]
    insertions = [b"&", b"<", b"]]>", b"<![CDATA[", b"\x00", b"\xff\xfe", b"&eacute;", b'xml:base="/a/"', b"<entry>"]
    parsed = 0
    for _ in range(400):
        data = bytearray(rng.choice(documents))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            if rng.random() < 0.5:
                del data[position : position + rng.randint(1, 80)]
            else:
                data[position:position] = rng.choice(insertions)
        try:
            parse_feed(bytes(data), url="https://example.org/feed", content_type="text/xml; charset=iso-8859-1")
        except FeedError:
            continue
        parsed += 1
    assert parsed > 300


def test_a_utf8_feed_with_a_few_broken_bytes_keeps_its_accents() -> None:
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        "<item><guid>1</guid><title>école café</title></item>"
        "<item><guid>2</guid><title>tram BROKEN</title></item></channel></rss>"
    ).encode().replace(b"BROKEN", b"\xff\xfe caf\xc3")
    titles = [entry.title for entry in parse_feed(body).entries]
    assert titles[0] == "école café"
    assert titles[1].startswith("tram") and "Ã" not in titles[1]
