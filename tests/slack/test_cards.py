import random
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.block_kit import (
    HOSTILE,
    all_strings,
    assert_outside_text_is_inert,
    assert_within_block_kit_limits,
    block,
    has_block,
)
from veilleur.core.hostility import HostileMark
from veilleur.core.i18n import technical
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import BY_ESTIMATE, BY_MODEL, BY_TEAM, Stance
from veilleur.core.stances import LABELS
from veilleur.slack import cards
from veilleur.slack.markup import escape

PARIS = ZoneInfo("Europe/Paris")


def card(mention: Mention, *, lang: str = "en", status: str | None = None) -> dict[str, Any]:
    message = cards.mention_card(mention, mention_id=42, watcher="caen-tram", tz=PARIS, lang=lang, status=status)
    assert_within_block_kit_limits(message)
    return message


def detail_texts(message: dict[str, Any]) -> list[str]:
    return [element["text"] for element in block(message, "details")["elements"]]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {element["action_id"]: element for element in block(message, "actions")["elements"]}


@pytest.fixture
def mention() -> Mention:
    return Mention(
        source="mastodon",
        external_id="https://mastodon.social/users/bob/statuses/1",
        url="https://mastodon.social/@bob/1",
        title="Tram line closed",
        text="The tram is late again.\nSecond paragraph.",
        author_handle="@bob@mastodon.social",
        author_name="Bob Martin",
        author_reach=12_345,
        created_at=datetime(2026, 11, 24, 8, 15, tzinfo=UTC),
        engagement={"likes": 12, "reposts": 3, "replies": 4},
    )


def test_card_in_english(mention: Mention) -> None:
    message = card(mention)
    assert block(message, "source")["text"]["text"] == (
        ":elephant: *Mastodon* · Bob Martin (@bob@mastodon.social) · 12.3K followers · 24 Nov 2026 09:15"
    )
    assert block(message, "body")["text"]["text"] == "*Tram line closed*\nThe tram is late again.\nSecond paragraph."
    assert detail_texts(message) == [
        "♥ 12 · ↻ 3 · 💬 4",
        ":link: <https://mastodon.social/@bob/1|mastodon.social/@bob/1>",
        "watcher: caen-tram",
    ]
    assert message["text"] == "New mention on Mastodon by @bob@mastodon.social: Tram line closed"


def test_card_in_french(mention: Mention) -> None:
    message = card(mention, lang="fr")
    assert block(message, "source")["text"]["text"] == (
        ":elephant: *Mastodon* · Bob Martin (@bob@mastodon.social) · 12,3\u00a0k abonnés · 24 nov. 2026 à 09:15"
    )
    assert detail_texts(message)[-1] == "veille\u202f: caen-tram"
    assert message["text"] == "Nouvelle mention sur Mastodon par @bob@mastodon.social\u202f: Tram line closed"
    assert [button["text"]["text"] for button in buttons(message).values()] == [
        "Rédiger une réponse",
        "Signaler",
        "Résumer",
        "Fausse information",
        "Ignorer",
        "Ouvrir",
    ]


def test_buttons_carry_the_mention_id_and_open_links_to_the_post(mention: Mention) -> None:
    found = buttons(card(mention))
    assert list(found) == ["mention_draft", "mention_flag", "mention_summarize", "mention_claim", "mention_dismiss",
                           "mention_open"]
    assert [found[action]["text"]["text"] for action in found] == [
        "Draft reply",
        "Escalate",
        "Summarize",
        "False claim",
        "Dismiss",
        "Open",
    ]
    for action in ("mention_draft", "mention_flag", "mention_summarize", "mention_claim", "mention_dismiss"):
        assert found[action]["value"] == "42"
    assert found["mention_flag"]["style"] == "danger"
    assert found["mention_open"]["url"] == "https://mastodon.social/@bob/1"


@pytest.mark.parametrize(
    ("source", "header"),
    [
        ("rss", ":newspaper: *RSS*"),
        ("mastodon", ":elephant: *Mastodon*"),
        ("bluesky", ":butterfly: *Bluesky*"),
        ("reddit", ":large_orange_circle: *Reddit*"),
        ("hackernews", ":large_orange_square: *Hacker News*"),
        ("discourse", ":speech_balloon: *Discourse*"),
        ("lemmy", ":mouse2: *Lemmy*"),
        ("x", ":heavy_multiplication_x: *X*"),
        ("webpage", ":globe_with_meridians: *Web page*"),
        ("mastodon-fork", ":mag: *mastodon-fork*"),
        ("<!channel>", ":mag: *&lt;!channel&gt;*"),
    ],
)
def test_each_source_has_its_emoji_and_name(source: str, header: str) -> None:
    message = card(Mention(source=source, external_id="1", url="https://example.org/1", text="hello"))
    assert block(message, "source")["text"]["text"] == header
    assert_outside_text_is_inert(message)


def test_time_is_shown_in_the_bot_zone_next_day_after_midnight_in_winter(mention: Mention) -> None:
    late = replace(mention, created_at=datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
    assert block(card(late), "source")["text"]["text"].endswith(" · 11 Jan 2026 00:30")
    assert block(card(late, lang="fr"), "source")["text"]["text"].endswith(" · 11 janv. 2026 à 00:30")


def test_unknown_time_reach_and_author_are_left_out(mention: Mention) -> None:
    bare = replace(mention, created_at=None, author_reach=None, author_name="", author_handle="")
    message = card(bare)
    assert block(message, "source")["text"]["text"] == ":elephant: *Mastodon*"
    assert message["text"] == "New mention on Mastodon: Tram line closed"


def test_author_with_only_a_name_or_only_a_handle(mention: Mention) -> None:
    only_name = replace(mention, author_handle="", author_reach=None, created_at=None)
    assert block(card(only_name), "source")["text"]["text"] == ":elephant: *Mastodon* · Bob Martin"
    only_handle = replace(mention, author_name="", author_reach=1, created_at=None)
    assert block(card(only_handle), "source")["text"]["text"] == (
        ":elephant: *Mastodon* · @bob@mastodon.social · 1 follower"
    )


def test_engagement_shows_the_counts_present_in_a_fixed_order(mention: Mention) -> None:
    forum = replace(mention, engagement={"comments": 1500, "score": 87})
    assert detail_texts(card(forum))[0] == "▲ 87 · 💬 1.5K"
    quiet = replace(mention, engagement={})
    assert detail_texts(card(quiet)) == [
        ":link: <https://mastodon.social/@bob/1|mastodon.social/@bob/1>",
        "watcher: caen-tram",
    ]


def test_empty_mention_still_makes_a_valid_card() -> None:
    message = card(Mention(source="rss", external_id="x", url="", text=""))
    assert not has_block(message, "body")
    assert detail_texts(message) == ["watcher: caen-tram"]
    assert "mention_open" not in buttons(message)
    assert message["text"] == "New mention on RSS: …"


def test_whitespace_only_fields_count_as_empty() -> None:
    message = card(Mention(source="rss", external_id="x", url=" ", text=" \n\t ", title="  ", author_name=" "))
    assert not has_block(message, "body")
    assert block(message, "source")["text"]["text"] == ":newspaper: *RSS*"


def test_title_without_text_and_text_without_title(mention: Mention) -> None:
    assert block(card(replace(mention, text="")), "body")["text"]["text"] == "*Tram line closed*"
    assert block(card(replace(mention, title="")), "body")["text"]["text"] == (
        "The tram is late again.\nSecond paragraph."
    )


@pytest.mark.parametrize("field", ["title", "text", "author_name", "author_handle"])
@pytest.mark.parametrize("hostile", HOSTILE.split())
def test_hostile_markup_in_any_field_is_escaped(mention: Mention, field: str, hostile: str) -> None:
    # Without title and handle, the notification text falls back on the text and the name: all four show there.
    message = card(replace(mention, **{"title": "", "author_handle": "", field: f"x {hostile} y"}))
    assert_outside_text_is_inert(message)
    assert any(f"x {escape(hostile)} y" in string for string in all_strings(message["blocks"]))
    assert f"x {escape(hostile)} y" in message["text"]


def test_hostile_watcher_name_is_inert(mention: Mention) -> None:
    message = cards.mention_card(mention, mention_id=1, watcher=HOSTILE, tz=PARIS, lang="en")
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    assert detail_texts(message)[-1].startswith("watcher: &lt;!channel&gt; &lt;!here&gt;")


def test_an_escaped_entity_is_escaped_again(mention: Mention) -> None:
    message = card(replace(mention, title="Fish &amp; chips", text=""))
    assert block(message, "body")["text"]["text"] == "*Fish &amp;amp; chips*"


def test_status_is_our_markup_and_renders_as_a_context_line(mention: Mention) -> None:
    message = card(mention, status="Dismissed by <@U1>")
    assert message["blocks"][-1] == {
        "type": "context",
        "block_id": "status",
        "elements": [{"type": "mrkdwn", "text": "Dismissed by <@U1>", "verbatim": True}],
    }
    assert not has_block(card(mention), "status")


def test_ten_thousand_character_title_and_text_are_cut(mention: Mention) -> None:
    long_words = " ".join(["word"] * 2000)
    message = card(replace(mention, title=long_words, text=long_words, author_name=long_words))
    body = block(message, "body")["text"]["text"]
    title, snippet = body.split("\n")
    assert title.startswith("*word") and title.endswith("…*")
    assert len(title) <= 210 and len(snippet) <= 600
    assert snippet.endswith("…")
    assert len(message["text"]) < 300


def test_text_made_only_of_ampersands_stays_within_limits(mention: Mention) -> None:
    message = card(replace(mention, title="&" * 10_000, text="&" * 10_000, author_name="&" * 10_000))
    body = block(message, "body")["text"]["text"]
    assert re.fullmatch(r"\*(&amp;)+…\*\n(&amp;)+…", body)


def test_many_lines_do_not_make_a_tall_card(mention: Mention) -> None:
    message = card(replace(mention, title="", text="line\n" * 200))
    assert block(message, "body")["text"]["text"].count("\n") == 7


def test_url_longer_than_a_button_allows_is_neither_linked_nor_a_button(mention: Mention) -> None:
    url = "https://example.org/" + "a" * 5000
    message = card(replace(mention, url=url))
    assert "mention_open" not in buttons(message)
    link_text = detail_texts(message)[1]
    assert link_text.startswith(":link: example.org/aaa") and "<" not in link_text


def test_long_url_goes_in_the_open_button_only(mention: Mention) -> None:
    url = "https://example.org/" + "a" * 2500
    message = card(replace(mention, url=url))
    assert buttons(message)["mention_open"]["url"] == url
    assert "<" not in detail_texts(message)[1]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://x.org/f"])
def test_non_web_urls_are_shown_but_not_linked(mention: Mention, url: str) -> None:
    message = card(replace(mention, url=url))
    assert "mention_open" not in buttons(message)
    assert detail_texts(message)[1] == ":link: " + url.replace("<", "&lt;").replace(">", "&gt;")


def test_url_delimiters_are_percent_encoded_in_the_link_and_the_button(mention: Mention) -> None:
    message = card(replace(mention, url="https://evil.example/a|https://bank.example/ b>"))
    assert detail_texts(message)[1] == (
        ":link: <https://evil.example/a%7Chttps://bank.example/%20b%3E|evil.example/a|https://bank.example/ b&gt;>"
    )
    assert buttons(message)["mention_open"]["url"] == "https://evil.example/a%7Chttps://bank.example/%20b%3E"


def test_emoji_and_right_to_left_text_are_kept_but_direction_overrides_are_dropped(mention: Mention) -> None:
    arabic = "مرحبا بالعالم 🚋"
    message = card(replace(mention, title=arabic, text="\u202eevil\u202c 👍🏽", author_name="\u2067שלום\u2069"))
    assert block(message, "body")["text"]["text"] == f"*{arabic}*\nevil 👍🏽"
    assert "· שלום (@bob" in block(message, "source")["text"]["text"]


def test_fallback_text_is_a_short_escaped_summary(mention: Mention) -> None:
    message = card(replace(mention, title="", text="<@U123> says the tram " + "is late " * 50))
    assert message["text"].startswith("New mention on Mastodon by @bob@mastodon.social: &lt;@U123&gt; says the tram")
    assert message["text"].endswith("…")


def test_random_hostile_mentions_always_give_valid_inert_cards() -> None:
    pieces = ["<", ">", "&", "|", "<!channel>", "<@U1>", "&amp;", "*", "\n", " ", "é", "🚋", "\u202e", "a", "word "]
    rng = random.Random(20261124)

    def junk(size: int) -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randrange(size)))

    for _ in range(300):
        mention = Mention(
            source=rng.choice([*cards.SOURCES, junk(20)]),
            external_id=junk(10),
            url=rng.choice(["https://example.org/", "javascript:"]) + junk(4000),
            title=junk(3000),
            text=junk(3000),
            author_handle=junk(200),
            author_name=junk(200),
            author_reach=rng.choice([None, 0, 1, 10**12]),
            engagement={"likes": rng.randrange(10**9), "comments": -1},
        )
        for lang in ("en", "fr"):
            message = card(mention, lang=lang)
            assert_outside_text_is_inert(message)


@pytest.mark.parametrize(
    ("count", "lang", "expected"),
    [
        (1, "en", "1 new mention for caen-tram, in the thread"),
        (12, "en", "12 new mentions for caen-tram, in the thread"),
        (1, "fr", "1 nouvelle mention pour caen-tram, dans le fil"),
        (12, "fr", "12 nouvelles mentions pour caen-tram, dans le fil"),
    ],
)
def test_rollup_message(count: int, lang: str, expected: str) -> None:
    message = cards.rollup_message("caen-tram", count, lang)
    assert_within_block_kit_limits(message)
    assert message["text"] == expected
    assert message["blocks"][0]["text"]["text"] == f":inbox_tray: {expected}"


def test_rollup_message_escapes_the_watcher_name() -> None:
    message = cards.rollup_message("<!channel>", 3, "en")
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "20 new mentions for caen-tram, in the thread. 9980 more new mentions got no card, past the limit of "
         "cards per poll: they are kept, and count in the digest and spike alerts."),
        ("fr", "20 nouvelles mentions pour caen-tram, dans le fil. 9980 autres nouvelles mentions n’ont pas eu de "
         "carte, au-delà de la limite de cartes par relevé\u202f: elles sont conservées et comptent dans la synthèse "
         "et les alertes de pic."),
    ],
)
def test_rollup_message_past_the_card_limit_counts_the_rest_and_lists_the_best(lang: str, expected: str) -> None:
    best = [
        Mention(source="mastodon", external_id=f"b{n}", url=f"https://social.example/{n}?a=1&b=<2>",
                title=f"{HOSTILE} {n}", text="", author_name=HOSTILE, author_reach=10**n)
        for n in range(5)
    ]
    message = cards.rollup_message("caen-tram", 20, lang, more=9980, best=best)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    assert message["text"] == expected
    lines = message["blocks"][1]["text"]["text"].splitlines()
    assert lines[0] == "*" + ("Most reached of them" if lang == "en" else "Plus forte audience parmi elles") + "*"
    assert len(lines) == 6 and all(line.startswith("• <https://social.example/") for line in lines[1:])


def test_rollup_message_of_overflow_alone_says_only_that() -> None:
    message = cards.rollup_message("caen-tram", 0, "en", more=1)
    assert message["text"] == (
        "1 more new mention got no card, past the limit of cards per poll: it is kept, and counts in the digest "
        "and spike alerts."
    )
    assert [block["block_id"] for block in message["blocks"]] == ["rollup"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_health_alert_names_the_watcher_error_and_since_and_stays_inert(lang: str) -> None:
    since = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    hostile_error = "HTTP 500 <!channel> <@U123> " + "&" * 5000
    message = cards.health_alert("caen-tram", "rss", technical(hostile_error), since, 3, tz=PARIS, lang=lang)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    text = message["blocks"][0]["text"]["text"]
    assert "caen-tram" in text and "HTTP 500" in text and "3" in text
    assert "24" in text and "00:30" in text  # 23:30 UTC is 00:30 the next day in Paris


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_health_recovery_message(lang: str) -> None:
    message = cards.health_recovered("caen-tram", "mastodon", None, tz=PARIS, lang=lang)
    assert_within_block_kit_limits(message)
    assert "caen-tram" in message["text"] and "Mastodon" in message["text"]


@pytest.mark.parametrize(
    ("reason", "lang", "days", "expected"),
    [
        ("retention", "en", 90, "Content removed: end of the retention period (90 days)"),
        ("retention", "en", 1, "Content removed: end of the retention period (1 day)"),
        ("retention", "en", None, "Content removed: end of the retention period"),
        ("author_request", "en", None, "Content removed at the author’s request"),
        ("retention", "fr", 30, "Contenu retiré\u202f: fin de la durée de conservation (30 jours)"),
        ("retention", "fr", 1, "Contenu retiré\u202f: fin de la durée de conservation (1 jour)"),
        ("author_request", "fr", None, "Contenu retiré à la demande de l’auteur"),
    ],
)
def test_a_removal_notice_says_why_and_nothing_else(reason: str, lang: str, days: int | None, expected: str) -> None:
    message = cards.removal_notice(reason, lang, days=days)
    assert_within_block_kit_limits(message)
    assert message["text"] == expected
    assert message["blocks"] == [
        {"type": "context", "block_id": "removed",
         "elements": [{"type": "plain_text", "text": f":wastebasket: {expected}", "emoji": True}]}
    ]


@pytest.mark.parametrize(
    ("lang", "reach", "shown"),
    [("en", 12_345, "over 10K followers"), ("en", 1000, "1K–10K followers"), ("en", 0, "under 1K followers"),
     ("fr", 1000, "1\u00a0k à 10\u00a0k abonnés"), ("fr", 10_000, "plus de 10\u00a0k abonnés")],
)
def test_with_reach_tiers_a_card_shows_the_tier_and_never_the_count(
    mention: Mention, lang: str, reach: int, shown: str
) -> None:
    tiered = replace(mention, author_reach=reach)
    message = cards.mention_card(tiered, mention_id=42, watcher="caen-tram", tz=PARIS, lang=lang, reach_tiers=True)
    assert_within_block_kit_limits(message)
    source = block(message, "source")["text"]["text"]
    assert shown in source and "12.3K" not in source and "12,3" not in source and "1,000" not in source
    quoted = cards.quoted_mention_blocks(tiered, watcher="w", tz=PARIS, lang=lang, reach_tiers=True)
    assert shown in quoted[0]["text"]["text"]
    rollup = cards.rollup_message("w", 0, lang, more=1, best=[tiered], reach_tiers=True)
    assert shown in block(rollup, "best")["text"]["text"]


@pytest.mark.parametrize(
    ("mark", "lang", "line"),
    [
        (HostileMark(estimate=True), "en", ":shield: Hostile post: don’t feed it — see the charter (estimate)"),
        (HostileMark(estimate=False), "en", ":shield: Hostile post: don’t feed it — see the charter"),
        (HostileMark(estimate=True), "fr",
         ":shield: Message hostile\u202f: ne pas répondre sur le fond — voir la charte (estimation)"),
    ],
)
def test_a_hostile_post_is_marked_under_its_details_and_keeps_its_buttons(
    mention: Mention, mark: HostileMark, lang: str, line: str
) -> None:
    message = cards.mention_card(mention, mention_id=42, watcher="w", tz=PARIS, lang=lang, hostile=mark)
    assert_within_block_kit_limits(message)
    ids = [b["block_id"] for b in message["blocks"]]
    assert ids.index("hostile") == ids.index("details") + 1
    assert block(message, "hostile")["elements"] == [{"type": "plain_text", "text": line, "emoji": True}]
    assert "mention_draft" in buttons(message)
    assert not has_block(card(mention), "hostile")
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(("by", "tag"), [(BY_TEAM, ("team", "équipe")), (BY_MODEL, ("AI", "IA")),
                                         (BY_ESTIMATE, ("estimate", "estimation"))])
def test_the_stance_menu_shows_the_current_stance_and_who_gave_it(
    mention: Mention, lang: str, by: str, tag: tuple[str, str]
) -> None:
    message = cards.mention_card(mention, mention_id=42, watcher="caen-tram", tz=PARIS, lang=lang,
                                 stance=Stance("against", by))
    assert_within_block_kit_limits(message)
    menu = buttons(message)[cards.STANCE_ACTION]
    assert menu["type"] == "static_select"
    assert [option["value"] for option in menu["options"]] == [f"42:{label}" for label in LABELS]
    assert menu["initial_option"] in menu["options"] and menu["initial_option"]["value"] == "42:against"
    assert menu["initial_option"]["text"]["text"].endswith(f"({tag[lang == 'fr']})")
    others = [option["text"]["text"] for option in menu["options"] if option is not menu["initial_option"]]
    assert all("(" not in text for text in others)
    assert cards.STANCE_ACTION not in buttons(card(mention)), "no stance given, no menu"
