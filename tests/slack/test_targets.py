"""The one parser of what a command points at (/summarize, /draft, /flag)."""

import pytest

from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, UrlRef, bare_word, parse_target


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("12", MentionRef(12)),
        ("#7", MentionRef(7)),
        (" 42 ", MentionRef(42)),
        ("https://team.slack.com/archives/C0TEAM/p1700000000000100", MessageRef("C0TEAM", "1700000000.000100")),
        ("<https://team.slack.com/archives/C0TEAM/p1700000000000200?thread_ts=1700000000.000100&amp;cid=C0TEAM>",
         MessageRef("C0TEAM", "1700000000.000200", "1700000000.000100")),
        ("https://mastodon.social/@ann/1", UrlRef("https://mastodon.social/@ann/1")),
        ("<https://news.example/a?x=1&amp;y=2|news.example/a>", UrlRef("https://news.example/a?x=1&y=2")),
        ("3d", None),
        ("tram", None),
        ("#", None),
        ("1234567890123456789", None),
        ("javascript:alert(1)", None),
        ("<!channel>", None),
    ],
)
def test_parse_target(word: str, expected: object) -> None:
    assert parse_target(word) == expected


@pytest.mark.parametrize(
    ("word", "bare"),
    [("<https://a.example/x|label>", "https://a.example/x"), ("<https://a.example/y>", "https://a.example/y"),
     ("a&amp;b", "a&b"), ("  3d ", "3d")],
)
def test_a_word_is_read_as_typed(word: str, bare: str) -> None:
    assert bare_word(word) == bare
