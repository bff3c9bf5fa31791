import re

import pytest

from veilleur.slack.markup import cut_markup, escape, link, markup, mrkdwn, plain_text, web_url

# What is left of a cut escaped text must be whole entities and ordinary characters only.
WHOLE_ENTITIES = re.compile(r"(?:[^&<>]|&amp;|&lt;|&gt;)*…?")


def test_escape_turns_only_the_three_control_characters_into_entities() -> None:
    assert escape("<!channel> & <@U123> \"quoted\" 'single' *bold*") == (
        "&lt;!channel&gt; &amp; &lt;@U123&gt; \"quoted\" 'single' *bold*"
    )


def test_escape_escapes_an_entity_again_so_slack_shows_it_as_written() -> None:
    assert escape("&amp;") == "&amp;amp;"
    assert escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;"


def test_mrkdwn_is_verbatim_and_escaped() -> None:
    assert mrkdwn("<https://evil|https://bank> & co") == {
        "type": "mrkdwn",
        "text": "&lt;https://evil|https://bank&gt; &amp; co",
        "verbatim": True,
    }


def test_mrkdwn_within_the_limit_is_not_cut() -> None:
    assert mrkdwn("x" * 3000)["text"] == "x" * 3000


def test_mrkdwn_never_cuts_inside_an_entity_whatever_the_limit() -> None:
    hostile = "a&b<c>d " * 20
    for limit in range(1, 120):
        text = mrkdwn(hostile, limit)["text"]
        assert len(text) <= limit
        assert WHOLE_ENTITIES.fullmatch(text), (limit, text)
        assert text.endswith("…")


def test_mrkdwn_of_ten_thousand_ampersands_stays_within_the_default_limit() -> None:
    text = mrkdwn("&" * 10_000)["text"]
    assert 2900 < len(text) <= 3000
    assert WHOLE_ENTITIES.fullmatch(text)


def test_cut_markup_never_leaves_half_a_link() -> None:
    built = "see " + link("https://example.org/a", "a label with spaces") + " then more words"
    for limit in range(1, len(built)):
        cut = cut_markup(built, limit)
        assert len(cut) <= limit
        assert cut.count("<") == cut.count(">"), cut


def test_plain_text_keeps_the_text_as_written_allows_emoji_and_truncates() -> None:
    assert plain_text("<!channel> & :tada:", 75) == {"type": "plain_text", "text": "<!channel> & :tada:", "emoji": True}
    cut = plain_text("word " * 100, 75)["text"]
    assert len(cut) <= 75
    assert cut.endswith("…")


@pytest.mark.parametrize("url", ["https://example.org/a?b=1", "http://example.org", "HTTPS://Example.org/x"])
def test_link_to_a_web_url_uses_our_label(url: str) -> None:
    assert link(url, "label") == f"<{url}|label>"


def test_link_label_is_escaped_so_it_cannot_spoof_another_link() -> None:
    assert link("https://example.org", "<https://evil|https://bank> & <!channel>") == (
        "<https://example.org|&lt;https://evil|https://bank&gt; &amp; &lt;!channel&gt;>"
    )


@pytest.mark.parametrize(
    ("url", "label", "shown"),
    [
        ("https://evil.example/login", "bank.fr", "evil.example"),
        ("https://evil.example/login", "https://www.bank.fr/login?next=1", "evil.example"),
        ("https://evil.example/login", "BANK.FR:443/", "evil.example"),
        ("https://bank.fr.evil.example/", "bank.fr", "bank.fr.evil.example"),
        ("https://www.bank.fr/a", "bank.fr", "bank.fr"),  # the same site
        ("https://login.bank.fr/a", "https://bank.fr", "https://bank.fr"),  # a subdomain of the one shown
        ("https://example.org/a", "example.org/a", "example.org/a"),
        ("https://evil.example/", "Le tramway à Caen.fr : le point", "Le tramway à Caen.fr : le point"),  # a title
        ("https://evil.example/", "3.14", "3.14"),
    ],
)
def test_a_label_that_is_an_address_shows_the_address_the_link_leads_to(url: str, label: str, shown: str) -> None:
    assert link(url, label) == f"<{url}|{shown}>"


def test_link_url_cannot_end_early_or_carry_a_label_of_its_own() -> None:
    built = link("https://evil.example/a|https://bank.example b>c<d\te\nf", "label")
    assert built == "<https://evil.example/a%7Chttps://bank.example%20b%3Ec%3Cd%09e%0Af|label>"


def test_link_url_ampersands_are_escaped() -> None:
    assert link("https://example.org/?a=1&b=2", "x") == "<https://example.org/?a=1&amp;b=2|x>"


def test_link_without_a_label_shows_the_url() -> None:
    assert link("https://example.org/", "") == "<https://example.org/>"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "JaVaScRiPt://example.org/%0Aalert(1)",
        "data:text/html,<b>x</b>",
        "mailto:a@example.org",
        "ftp://example.org/file",
        "//example.org/no-scheme",
        "https://",
        "http://[::1",
        "",
    ],
)
def test_anything_but_an_http_url_gives_the_escaped_label_only(url: str) -> None:
    assert link(url, "<b> & co") == "&lt;b&gt; &amp; co"
    assert web_url(url) is None


def test_web_url_percent_encodes_whitespace_and_delimiters_and_keeps_the_rest() -> None:
    assert web_url("  https://example.org/é?q=a b&c=<d>|e  ") == "https://example.org/é?q=a%20b&c=%3Cd%3E%7Ce"


def test_markup_keeps_what_we_built() -> None:
    assert markup("Dismissed by <@U1>") == {"type": "mrkdwn", "text": "Dismissed by <@U1>", "verbatim": True}
