"""The period's top mentions, by reach and engagement, whatever the poll's card cap."""

from datetime import timedelta

from tests.support.digest_figures import DAY, END, found, mention
from veilleur.digest.compute import compute_digest
from veilleur.storage.store import Store


def test_mentions_past_max_cards_per_poll_are_counted_and_ranked(store: Store) -> None:
    found(store, "tram", [], END - timedelta(hours=3))
    mentions = [mention(f"m{n}", reach=100 * n) for n in range(1, 6)]
    outcome = store.record_poll("tram", "C1", mentions, {}, max_cards=2, now=END - timedelta(hours=1))
    assert outcome.overflow == 3

    digest = compute_digest(store, DAY, top=5)

    assert digest.total == 5
    assert [item.mention.external_id for item in digest.top_mentions] == ["m5", "m4", "m3", "m2", "m1"]


def test_top_mentions_by_reach_and_engagement(store: Store) -> None:
    found(store, "tram", [
        mention("quiet", reach=10),
        mention("liked", likes=40),  # score 40
        mention("famous", reach=5_000, likes=1),  # 50 + 1
        mention("both", reach=2_000, likes=30),  # 20 + 30
        mention("small", reach=900, likes=2),  # 9 + 2
    ], END - timedelta(hours=1))

    digest = compute_digest(store, DAY, top=3)

    assert [item.mention.external_id for item in digest.top_mentions] == ["famous", "both", "liked"]
    assert [item.engagement for item in digest.top_mentions] == [1, 30, 40]
    assert digest.top_mentions[0].mention.url == "https://social.example/famous"


def test_top_mentions_carry_their_reach_tier(store: Store) -> None:
    found(store, "tram", [mention("famous", reach=50_000), mention("both", reach=2_000, likes=30),
                          mention("unknown", likes=10)], END - timedelta(hours=1))

    digest = compute_digest(store, DAY, top=3)

    assert [(item.mention.external_id, item.level) for item in digest.top_mentions] == [
        ("famous", "high"), ("both", "medium"), ("unknown", None)]
