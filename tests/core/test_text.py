from __future__ import annotations

import sys
import time
import unicodedata

import pytest

from veilleur.core.text import (
    ELLIPSIS,
    collapse_blanks,
    html_to_text,
    ignored_when_comparing,
    one_line,
    truncate,
    without_invisible,
)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("Automotive <b>Slack</b> Market&nbsp;...", "Automotive Slack Market ..."),
        ("Q&amp;A &lt;3 &eacute;t&eacute; &#8217; &#x2019; &hellip;", "Q&A <3 été ’ ’ …"),
        ("<p>One</p><p>Two<br>Three<br/>Four</p><ul><li>a</li><li>b</li></ul>", "One\nTwo\nThree\nFour\na\nb"),
        ("<P>Upper</P><BR>Case <DIV>tags</DIV>", "Upper\nCase\ntags"),
        ("<p>source\nnewlines   are\tblanks</p>", "source newlines are blanks"),
        ("plain text\n\n\nkeeps  its\r\nline breaks", "plain text\nkeeps its\nline breaks"),
        ("a<script>alert('x<p>')</script>b<style>p { color: red }</style>c<!-- hidden -->d", "abcd"),
        ("<SCRIPT type='text/javascript'>x()</SCRIPT >after", "after"),
        ("visible<script>never closed <b>bold", "visible"),
        ("before<!-- unclosed comment", "before"),
        ('<a href="https://example.org/?a=1&amp;b=2" title="t">link</a> text', "link text"),
        ("<preview>not a block</preview>tag", "not a blocktag"),
        ("a < b and c > d", "a < b and c > d"),
        ("&amp;lt;b&amp;gt; stays escaped once", "&lt;b&gt; stays escaped once"),
        ("", ""),
        ("   \n\t ", ""),
    ],
)
def test_html_to_text(fragment: str, expected: str) -> None:
    assert html_to_text(fragment) == expected


@pytest.mark.parametrize(
    "garbage",
    ["<", ">", "<<<>>>", "&", "&#;", "&#xZZ;", "&#99999999;", "<a <b <c", "</", "<!", "<?", "\x00\x01\ufffd", "\ud800"],
)
def test_html_to_text_never_raises(garbage: str) -> None:
    assert isinstance(html_to_text(garbage), str)


def test_html_to_text_costs_linear_time_on_hostile_markup() -> None:
    hostile = "<a " * 100_000 + "<script" * 10_000 + "<!--" * 10_000

    started = time.perf_counter()
    html_to_text(hostile)

    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" plain line, spaced at both ends ", "plain line, spaced at both ends"),
        ("two  spaces\tand a tab", "two spaces and a tab"),
        ("no\u00a0break\u3000ideographic", "no break ideographic"),
        ("line\u2028separator\x0bvertical\x0cfeed\r\ncarriage", "line\nseparator\nvertical\nfeed\ncarriage"),
        ("\n \n kept \n\n", "kept"),
        ("\x00 control", "\x00 control"),
    ],
)
def test_collapse_blanks(text: str, expected: str) -> None:
    assert collapse_blanks(text) == expected


def test_one_line() -> None:
    assert one_line("  a\nb \t c\u00a0d  ") == "a b c d"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("hello wonderful world", 12, "hello" + ELLIPSIS),
        ("hello wonderful world", 16, "hello wonderful" + ELLIPSIS),
        ("abcdefghijklmnop", 8, "abcdefg" + ELLIPSIS),  # no word boundary: cut mid-word
        ("a verylongwordindeed", 15, "a verylongword" + ELLIPSIS),  # boundary too early: cut mid-word
        ("hello, world", 7, "hello," + ELLIPSIS),
        ("anything", 1, ELLIPSIS),
        ("anything", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= max(limit, 0)


# The characters issue 12 names: zero-width space, non-joiner and joiner, word joiner, invisible separator, byte
# order mark, Arabic letter mark, left-to-right and right-to-left marks, embeddings, overrides and isolates.
NAMED_INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\u2063", "\ufeff", "\u061c", "\u200e", "\u200f",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
]  # fmt: skip
FORMAT_CHARACTERS = [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"]


@pytest.mark.parametrize("invisible", NAMED_INVISIBLE)
def test_without_invisible_drops_the_spoofing_characters(invisible: str) -> None:
    spoofed = f"tram{invisible}way {invisible}Jean{invisible} Dupont{invisible}"
    assert without_invisible(spoofed) == "tramway Jean Dupont"
    assert without_invisible(f"é{invisible}\n{invisible}à") == "é\nà"


def test_without_invisible_drops_every_format_character_of_this_unicode_database() -> None:
    kept = [hex(ord(char)) for char in FORMAT_CHARACTERS if without_invisible(f"a{char}b") != "ab"]
    assert kept == []
    assert all(ignored_when_comparing(char) for char in FORMAT_CHARACTERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nul\x00 escape\x1b del\x7f c1\x9b", "nul escape del c1"),
        ("tab\tnew\nline\r\nform\x0cfeed\x85next", "tab\tnew\nline\r\nform\x0cfeed\x85next"),
        ("\ufeff", ""),
    ],
)
def test_without_invisible_drops_controls_but_not_whitespace(text: str, expected: str) -> None:
    assert without_invisible(text) == expected


@pytest.mark.parametrize(
    "legitimate",
    [
        "👨\u200d👩\u200d👧 family",  # emoji ZWJ sequences
        "🏳\ufe0f\u200d🌈 flag",
        "🧑🏽\u200d💻 skin tone",
        "❤\ufe0f\u200d🔥",
        "می\u200cخواهم",  # Persian: the non-joiner keeps two letters apart
        "क्\u200dष",  # Devanagari: the joiner picks a half form
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",  # subdivision flag tags
        "Le tramway arrive à Caen « demain » 🚋",
        "right-to-left: مرحبا بالعالم שלום",
    ],
)
def test_without_invisible_keeps_what_people_read(legitimate: str) -> None:
    assert without_invisible(legitimate) == legitimate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u200d👍 then 👍\u200d", "👍 then 👍"),  # a joiner at either end of an emoji joins nothing
        ("admin\u200d👍", "admin👍"),
        ("a\u200cd\u200dmin", "admin"),  # joiners between Latin letters only split words
        ("x\U000e0067\U000e007f", "x"),  # tags outside a flag: hidden text ("ASCII smuggling")
    ],
)
def test_joiners_and_tags_outside_emoji_and_joining_scripts_are_dropped(text: str, expected: str) -> None:
    assert without_invisible(text) == expected


def test_variation_selectors_and_blank_letters_stay_in_text_but_not_when_comparing() -> None:
    assert without_invisible("❤\ufe0f \u3164\u115f name\u034f") == "❤\ufe0f \u3164\u115f name\u034f"
    assert all(ignored_when_comparing(char) for char in "\ufe0f\ufe0e\u3164\u115f\u034f\U000e0100")
    assert not any(ignored_when_comparing(char) for char in "a é😀\n")
