"""Volumes and trends per watcher, per source and overall, and the 7-day chart series."""

from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tests.support.digest_figures import DAY, END, found, mention
from veilleur.digest.compute import compute_digest
from veilleur.digest.model import Change, Digest, DigestPeriod
from veilleur.storage.store import Store


def percent(count: int, reference: Decimal) -> int:
    """The change in whole percent, rounded half up (away from zero), computed independently of volumes.py."""
    value = (Decimal(count) - reference) * 100 / reference
    rounded = abs(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(rounded) if value >= 0 else -int(rounded)


def volume(digest: Digest, name: str, kind: str = "watcher"):
    volumes = digest.by_watcher if kind == "watcher" else digest.by_source
    return next(v for v in volumes if v.name == name)


def test_volumes_and_trends_per_watcher_and_source(store: Store) -> None:
    # tram: 6 today, 4 yesterday, 10 more over the 6 days before: 14 in the week before today.
    found(store, "tram", [mention(f"t{n}") for n in range(6)], END - timedelta(hours=2))
    found(store, "tram", [mention(f"y{n}", source="rss") for n in range(4)], END - timedelta(days=1, hours=3))
    for day in range(2, 7):
        found(store, "tram", [mention(f"w{day}-{n}") for n in range(2)], END - timedelta(days=day, hours=1))
    # bus: 3 today, nothing before; one of them is also tram's (same source and id).
    found(store, "bus", [mention("t0"), mention("b1", source="rss"), mention("b2", source="rss")],
          END - timedelta(hours=1))
    # Older than the 7 days: counted nowhere.
    found(store, "tram", [mention("old")], END - timedelta(days=9))

    digest = compute_digest(store, DAY)

    assert digest.watchers == ("bus", "tram")
    tram = volume(digest, "tram")
    assert (tram.count, tram.previous, tram.week) == (6, 4, 14)
    assert tram.vs_previous == Change("up", percent(6, Decimal(4)))  # +50
    assert tram.vs_week == Change("up", percent(6, Decimal(14) / 7))  # against 2 a day: +200
    bus = volume(digest, "bus")
    assert (bus.count, bus.previous, bus.week) == (3, 0, 0)
    assert bus.vs_previous == Change("new", None) and bus.vs_week == Change("new", None)
    # Distinct mentions: t0 was found by both watchers.
    assert digest.total == 8
    assert (digest.overall.previous, digest.overall.week) == (4, 14)
    assert digest.overall.vs_previous == Change("up", percent(8, Decimal(4)))
    mastodon, rss = volume(digest, "mastodon", "source"), volume(digest, "rss", "source")
    assert (mastodon.count, mastodon.previous, mastodon.week) == (6, 0, 10)
    assert mastodon.vs_week == Change("up", percent(6, Decimal(10) / 7))  # 6 against 10/7: +320
    assert (rss.count, rss.previous) == (2, 4)
    assert rss.vs_previous == Change("down", -50)
    # Days in Paris time, the 7 ending with the period's last day.
    assert [day for day, _ in digest.daily_volume["tram"]] == [date(2026, 3, d) for d in range(4, 11)]
    assert dict(digest.daily_volume["tram"])[date(2026, 3, 10)] == 6
    assert dict(digest.daily_volume["tram"])[date(2026, 3, 9)] == 4
    assert dict(digest.daily_volume["bus"])[date(2026, 3, 10)] == 3


def test_a_weekend_period_is_compared_with_as_many_average_days(store: Store) -> None:
    weekend = DigestPeriod(END - timedelta(days=3), END)
    found(store, "tram", [mention(f"now{n}") for n in range(5)], END - timedelta(hours=5))
    found(store, "tram", [mention(f"before{n}") for n in range(7)], END - timedelta(days=5))
    found(store, "tram", [mention(f"week{n}") for n in range(4)], END - timedelta(days=8))

    overall = compute_digest(store, weekend).overall

    # Previous 3 days: 7. Week before the period: 11, so 3 average days are 33/7.
    assert (overall.count, overall.previous, overall.week) == (5, 7, 11)
    assert overall.vs_previous == Change("down", percent(5, Decimal(7)))
    assert overall.vs_week == Change("up", percent(5, Decimal(33) / 7))


def test_quiet_backlog_and_other_watchers_are_not_counted(store: Store) -> None:
    store.record_poll("tram", "C1", [mention("backlog1"), mention("backlog2")], {}, now=END - timedelta(hours=3))
    found(store, "tram", [mention("new")], END - timedelta(hours=1))
    found(store, "parks", [mention("park")], END - timedelta(hours=1))

    everything = compute_digest(store, DAY)
    tram_only = compute_digest(store, DAY, watchers=["tram"])

    assert everything.total == 2
    assert tram_only.total == 1 and tram_only.watchers == ("tram",)
    store.queue_notice("(digest)", "C1", {"text": "an earlier digest"}, END - timedelta(hours=1))
    assert compute_digest(store, DAY).watchers == ("parks", "tram")
    assert [item.mention.external_id for item in tram_only.top_mentions] == ["new"]


def test_periods_in_utc_and_in_local_time_count_the_same(store: Store) -> None:
    found(store, "tram", [mention("a"), mention("b")], END - timedelta(minutes=1))
    utc = DigestPeriod(DAY.start.astimezone(UTC), DAY.end.astimezone(UTC))

    assert compute_digest(store, utc).total == compute_digest(store, DAY).total == 2
