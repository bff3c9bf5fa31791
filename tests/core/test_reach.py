"""Reach tiers across sources: each source's best public signal, and outlets for news sites."""

from pathlib import Path

import pytest

from veilleur.core.mentions import Mention, tier_floor
from veilleur.core.reach import LEVELS, default_outlets, load_outlets, outlet_of, reach_level

OUTLETS = default_outlets()


def post(source: str, *, url: str = "https://example.org/p", reach: int | None = None, **engagement: int) -> Mention:
    return Mention(source=source, external_id="1", url=url, text="tram", author_reach=reach, engagement=engagement)


@pytest.mark.parametrize(
    ("mention", "level"),
    [
        (post("mastodon", reach=999), "low"),
        (post("mastodon", reach=1_000), "medium"),
        (post("bluesky", reach=25_000), "high"),
        (post("youtube", reach=10_000), "high"),
        (post("lemmy", reach=4_000, score=2), "medium"),  # the community's subscribers, not the post's score
        (post("reddit", score=99), "low"),
        (post("reddit", score=1_200, comments=3), "high"),
        (post("hackernews", score=120), "medium"),
        (post("hackernews", score=300), "high"),
        (post("discourse", likes=3, replies=40), "low"),
        (post("discourse", likes=60), "high"),
        (post("rss", url="https://www.lemonde.fr/politique/article/1.html"), "high"),
        (post("rss", url="https://rennes.maville.com/actu/1"), "low"),
        (post("webpage", url="https://france3-regions.francetvinfo.fr/bretagne/1"), "medium"),
        (post("webpage", url="https://www.francetvinfo.fr/1"), "high"),
    ],
)
def test_each_source_is_tiered_by_its_best_signal(mention: Mention, level: str) -> None:
    assert reach_level(mention, OUTLETS) == level


@pytest.mark.parametrize(
    "mention",
    [post("mastodon"), post("reddit"), post("rss", url="https://blog.example.org/1"), post("slack", reach=50_000)],
)
def test_no_signal_no_tier(mention: Mention) -> None:
    assert reach_level(mention, OUTLETS) is None


@pytest.mark.parametrize("followers", [0, 999, 1_000, 9_999, 10_000, 2_000_000])
def test_a_follower_count_kept_as_its_floor_keeps_its_tier(followers: int) -> None:
    """PRIVACY_PROFILE=public-body stores only `tier_floor`: the tier must be the same."""
    kept = post("x", reach=tier_floor(followers))
    assert reach_level(kept, OUTLETS) == reach_level(post("x", reach=followers), OUTLETS)


def test_every_followers_source_uses_the_public_body_floors() -> None:
    assert {thresholds for kind, thresholds in LEVELS.values() if kind == "followers"} == {(1_000, 10_000)}


def test_the_shipped_outlets_cover_the_main_french_media() -> None:
    for domain in ("lemonde.fr", "lefigaro.fr", "liberation.fr", "lesechos.fr", "leparisien.fr", "ouest-france.fr",
                   "sudouest.fr", "lavoixdunord.fr", "leprogres.fr", "ladepeche.fr", "francetvinfo.fr", "francebleu.fr",
                   "bfmtv.com", "20minutes.fr", "mediapart.fr"):
        assert outlet_of(f"https://{domain}/a", OUTLETS) is not None, domain


def test_the_watchers_file_adds_and_overrides_outlets_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "watchers.toml"
    path.write_text(
        '[[outlet]]\ndomain = "www.Lemonde.fr"\ntier = "medium"\n'
        '[[outlet]]\ndomain = "caen.maville.com"\ntier = "medium"\nname = "Caen maville"\n'
        '[[outlet]]\ndomain = "journal.example"\ntier = "huge"\n',
        encoding="utf-8",
    )
    outlets, problems = load_outlets(path)
    assert reach_level(post("rss", url="https://lemonde.fr/a"), outlets) == "medium"
    assert reach_level(post("rss", url="https://caen.maville.com/a"), outlets) == "medium"
    assert reach_level(post("rss", url="https://brest.maville.com/a"), outlets) == "low"
    assert [(p.watcher, p.field) for p in problems] == [("journal.example", "tier")]
    assert "outlet 'journal.example'" in str(problems[0])
