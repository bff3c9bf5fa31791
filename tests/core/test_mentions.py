"""The Mention record's own rules: no e-mail address in its author, and reach tiers (PRIVACY_PROFILE=public-body)."""

import pytest

from veilleur.core.mentions import (
    REACH_PER_INTERACTION,
    Mention,
    author_key,
    mention_score,
    reach_tier,
    tier_floor,
    with_reach_tier,
    without_email_addresses,
)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("jean@example.fr (Jean Dupont)", "Jean Dupont"),  # RSS 2.0 <author>
        ("jean.dupont@mairie-caen.fr", ""),
        ("Jean Dupont <jean@example.fr>", "Jean Dupont"),
        ('"Jean Dupont" <jean@example.fr>', "Jean Dupont"),
        ("Jean Dupont (jean@example.fr)", "Jean Dupont"),
        ("Jean Dupont [jean@example.fr]", "Jean Dupont"),
        ("Jean Dupont - jean@example.fr", "Jean Dupont"),
        ("Jean Dupont, jean@example.fr", "Jean Dupont"),
        ("jean@example.fr, marie@example.fr", ""),
        ("mailto:jean@example.fr", ""),
        ("MAILTO:Jean@Example.FR (Jean)", "Jean"),
        ("jean+veille@sub.mairie.example.fr", ""),
        ("o'brien@example.ie (Siobhan O'Brien)", "Siobhan O'Brien"),
        ("jean [at] example [dot] fr", ""),
        ("Jean (jean(at)example.fr)", "Jean"),
        ("jean{at}example{dot}fr (Jean)", "Jean"),
        ("jean (arobase) example (point) fr", ""),
        ("Jean <jean＠example.fr>", "Jean"),  # a full-width at sign
        ("élodie@mairie-évry.fr (Élodie)", "Élodie"),
        ("admin@[192.0.2.10] (Admin)", "Admin"),
        ("Café «jean@example.fr»", "Café"),
        ("noreply@blogger.com (Ann)", "Ann"),
    ],
)
def test_addresses_leave_the_name_and_nothing_of_themselves(written: str, kept: str) -> None:
    assert without_email_addresses(written) == kept


@pytest.mark.parametrize(
    "text",
    [
        "Jean Dupont",
        "@ann@mastodon.social",  # a fediverse handle, not an address
        "Ann @ann@mastodon.social",
        "AT&T (at) home",
        "Paul (at) Mairie de Caen",
        "C@t lover",
        "@jean",
        "ann@localhost",  # no domain with a dot: not an address people read
        "",
    ],
)
def test_what_is_not_an_address_is_left_as_it_is(text: str) -> None:
    assert without_email_addresses(text) is text


def mention(source: str, handle: str = "", name: str = "", text: str = "texte") -> Mention:
    return Mention(source=source, external_id="1", url="https://x.example/1", text=text, author_handle=handle,
                   author_name=name)


def test_an_rss_author_keeps_only_its_name() -> None:
    found = mention("rss", name="jean@example.fr (Jean Dupont)")
    assert found.author_name == "Jean Dupont" and found.author_handle == ""


def test_a_mastodon_handle_is_not_taken_for_an_address_but_its_name_may_hold_one() -> None:
    found = mention("mastodon", handle="ann@mastodon.social", name="Ann (ann@example.fr)")
    assert found.author_handle == "ann@mastodon.social"
    assert found.author_name == "Ann"


@pytest.mark.parametrize("source", ["rss", "bluesky", "reddit", "hackernews", "discourse"])
def test_a_handle_loses_an_address_on_sources_whose_handles_never_are_one(source: str) -> None:
    assert mention(source, handle="jean@example.fr").author_handle == ""


def test_a_source_not_known_to_avoid_user_at_host_handles_keeps_them() -> None:
    assert mention("peertube", handle="ann@video.example").author_handle == "ann@video.example"


def test_the_text_and_title_keep_their_addresses() -> None:
    found = Mention(source="rss", external_id="1", url="u", text="Écrivez à tram@exempleville.example",
                    title="Contact: mairie@exempleville.example")
    assert "tram@exempleville.example" in found.text and "mairie@exempleville.example" in found.title


@pytest.mark.parametrize(
    ("reach", "tier", "floor"),
    [(-3, "under_1k", 0), (0, "under_1k", 0), (999, "under_1k", 0), (1000, "1k_10k", 1000),
     (9999, "1k_10k", 1000), (10_000, "over_10k", 10_000), (2_000_000, "over_10k", 10_000)],
)
def test_reach_tiers_and_their_floors(reach: int, tier: str, floor: int) -> None:
    assert reach_tier(reach) == tier and tier_floor(reach) == floor
    assert reach_tier(tier_floor(reach)) == tier  # a stored floor stays in its tier


def test_a_mention_keeps_only_its_tier_and_still_ranks_by_it() -> None:
    small, middle, wide = (
        with_reach_tier(Mention("mastodon", str(n), "u", "t", author_reach=n)) for n in (950, 5432, 48_000)
    )
    assert (small.author_reach, middle.author_reach, wide.author_reach) == (0, 1000, 10_000)
    assert mention_score(small) < mention_score(middle) < mention_score(wide)
    assert mention_score(wide) == 10_000 // REACH_PER_INTERACTION
    unknown = Mention("rss", "1", "u", "t")
    assert with_reach_tier(unknown) is unknown


def test_the_author_key_is_per_source_without_case() -> None:
    assert author_key(mention("mastodon", handle="Ann@Mastodon.social", name="Ann")) == "mastodon:ann@mastodon.social"
    assert author_key(mention("rss", name="jean@example.fr (Jean Dupont)")) == "rss:jean dupont"
    assert author_key(mention("rss")) is None
