from __future__ import annotations

import time

import pytest

from text import ELLIPSIS, collapse_blanks, html_to_text, one_line, truncate


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
