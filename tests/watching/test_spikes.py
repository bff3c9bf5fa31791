"""Spike alerts: detection against the same hour of the last 14 days, floor, cooldown, content, LLM and fallback.

History is generated through Store.record_poll with explicit times; polls go through the real Poller against the
feed server, alerts through the real outbox to the fake Slack.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from tests.support.feed_server import FeedServer
from tests.support.openai_api import FakeOpenAI, LLMFactory
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.assist.prompt_book import PromptBook
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.settings import SettingsError, parse_settings
from veilleur.core.watcher_config import WatcherConfig
from veilleur.runtime import open_services
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.labels import MentionLabels, ModelLabel
from veilleur.storage.spikes import SpikeRecords
from veilleur.storage.store import Delivery, Store, utcnow
from veilleur.watching import spikes
from veilleur.watching.polling import Poller
from veilleur.watching.spikes import SpikeRule, SpikeWatch, gather_facts, hour_windows, measure, top_terms
from watchers.base import WatcherContext, new_http_client
from watchers.rss import RssWatcher

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 15:30 in Paris
CONFIG = WatcherConfig(name="caen-tram", source="rss", query=parse_query("tram"), channel="C0TRAM", url="https://x")


def mentions(count: int, published: datetime | None, *, prefix: str = "m", text: str = "tram late again",
             source: str = "rss", reach: int | None = None) -> list[Mention]:
    return [
        Mention(source=source, external_id=f"{prefix}-{index}", url=f"https://news.example/{prefix}/{index}",
                text=text, author_name=f"Author {index}", author_reach=reach, created_at=published)
        for index in range(count)
    ]


def start_watcher(store: Store, watcher: str = "caen-tram", at: datetime = NOW - timedelta(days=20)) -> None:
    """The watcher's first poll: from then on, what it finds counts."""
    store.record_poll(watcher, "C0TRAM", [], {}, now=at)


def same_hour(days_ago: int, minutes_before: int = 20) -> datetime:
    """A moment inside the baseline window `days_ago` days before NOW, by the Paris clock (computed here by hand)."""
    local = NOW.astimezone(PARIS)
    wall = datetime(local.year, local.month, local.day, local.hour, local.minute, tzinfo=PARIS)
    return (wall - timedelta(days=days_ago)).astimezone(UTC) - timedelta(minutes=minutes_before)


def generate_history(store: Store, per_day: list[int], watcher: str = "caen-tram") -> None:
    """`per_day[d - 1]` mentions in the same hour `d` days ago, each found by a poll five minutes later (and
    posted then: only today's cards are left for the outbox)."""
    for days_ago, count in enumerate(per_day, start=1):
        moment = same_hour(days_ago)
        outcome = store.record_poll(watcher, "C0TRAM", mentions(count, moment, prefix=f"h{days_ago}"), {},
                                    now=moment + timedelta(minutes=5))
        for delivery_id, _ in outcome.cards:
            store.mark_posted(delivery_id, f"{days_ago}.{delivery_id}", None, now=moment + timedelta(minutes=6))


def poll_now(store: Store, count: int, *, prefix: str = "now", at: datetime = NOW, **fields: Any) -> None:
    published = fields.pop("published", at - timedelta(minutes=10))
    store.record_poll("caen-tram", "C0TRAM", mentions(count, published, prefix=prefix, **fields), {}, now=at)


def render(delivery: Delivery) -> dict[str, Any]:
    """Notices as queued; cards and rollups as a bare text (they are not what these tests look at)."""
    if delivery.kind == "notice" and delivery.message is not None:
        return delivery.message
    return {"text": f"{delivery.kind} {delivery.id}"}


class Alerts:
    """A SpikeWatch on a store, with the real outbox posting to the fake Slack."""

    def __init__(self, store: Store, slack: FakeSlack, rule: SpikeRule | None = None, *, llm: Any = None,
                 lang: str = "en") -> None:
        rule = rule or SpikeRule()
        self.store = store
        self.slack = slack
        self.outbox = Outbox(store, new_slack_client("xoxb-test", slack.api_url), render, pace=0.0)
        self.watch = SpikeWatch(store, rule, llm=llm, prompts=PromptBook(), lang=lang, tz=PARIS,
                                on_queued=self.outbox.wake)

    async def check(self, now: datetime = NOW, config: WatcherConfig = CONFIG) -> int | None:
        spike = await self.watch.check(config, now)
        await self.watch.wait()
        await self.outbox.drain(within=10)
        return spike

    def posted(self, channel: str = "C0TRAM") -> list[dict[str, Any]]:
        """The notices posted (cards, also posted, have no blocks here)."""
        return [message for message in self.slack.posted_messages(channel) if "blocks" in message]


def one_decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def spike_rows(store: Store) -> list[dict[str, Any]]:
    return list(sql(store).query("select * from spikes order by id"))


def block_text(message: dict[str, Any], block_id: str) -> str:
    block = next(b for b in message["blocks"] if b.get("block_id") == block_id)
    if "text" in block:
        return block["text"]["text"]
    return " ".join(element["text"] for element in block["elements"])


def block_ids(message: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in message["blocks"]]


# ---- the rule -------------------------------------------------------------------------------------------------


async def test_a_spike_posts_one_alert_with_the_last_hour_against_the_same_hour_of_14_days(
    store: Store, slack: FakeSlack
) -> None:
    start_watcher(store)
    per_day = [2, 1, 3, 2, 0, 4, 2, 1, 2, 3, 2, 1, 2, 4]
    generate_history(store, per_day)
    # Outside every baseline window: two hours before the hour, 15 days ago, and half an hour after it.
    store.record_poll("caen-tram", "C0TRAM", mentions(7, NOW - timedelta(days=3, hours=2), prefix="off1"), {},
                      now=NOW - timedelta(days=3, hours=1))
    store.record_poll("caen-tram", "C0TRAM", mentions(9, same_hour(2, minutes_before=-30), prefix="off2"), {},
                      now=same_hour(2, minutes_before=-35))
    poll_now(store, 12)
    alerts = Alerts(store, slack)
    assert await alerts.check() is not None
    baseline = sum(per_day) / len(per_day)
    [row] = spike_rows(store)
    assert (row["recent"], row["baseline_days"], row["channel"]) == (12, 14, "C0TRAM")
    assert row["baseline"] == pytest.approx(baseline)
    [message] = alerts.posted()
    assert f"*12* mentions in the last hour, against {one_decimal(baseline)} usually" in block_text(message, "volume")
    assert f"{one_decimal(12 / baseline)}× the usual" in block_text(message, "volume")
    assert "14 days" in block_text(message, "baseline")
    assert message["text"] == f"Spike on caen-tram: 12 mentions in the last hour (usually {one_decimal(baseline)})"
    assert_within_block_kit_limits(message)


def test_baseline_windows_keep_the_clock_time_across_a_daylight_saving_change() -> None:
    now = datetime(2026, 11, 1, 14, 30, tzinfo=UTC)  # 15:30 in Paris; a week ago it was 16:30 in Paris time
    windows = hour_windows(now, PARIS)
    assert len(windows) == 15
    assert windows[0] == (now - timedelta(hours=1), now)
    assert [end.astimezone(PARIS).strftime("%H:%M") for _, end in windows] == ["15:30"] * 15
    assert windows[7][1] == datetime(2026, 10, 25, 14, 30, tzinfo=UTC)  # CET from 25 Oct 03:00
    assert windows[8][1] == datetime(2026, 10, 24, 13, 30, tzinfo=UTC)  # still CEST


async def test_not_alerted_again_within_the_cooldown_even_after_a_restart_then_alerted_after_it(
    tmp_path: Path, slack: FakeSlack
) -> None:
    path = tmp_path / "veilleur.db"
    store = Store.open(path)
    start_watcher(store)
    generate_history(store, [1] * 14)
    poll_now(store, 15)
    alerts = Alerts(store, slack, SpikeRule(cooldown=timedelta(hours=6)))
    assert await alerts.check() is not None
    poll_now(store, 20, prefix="again", at=NOW + timedelta(minutes=30))
    assert await alerts.check(NOW + timedelta(minutes=30)) is None
    store.close()

    store = Store.open(path)
    restarted = Alerts(store, slack, SpikeRule(cooldown=timedelta(hours=6)))
    later = NOW + timedelta(hours=5, minutes=59)
    poll_now(store, 20, prefix="restart", at=later)
    assert await restarted.check(later) is None
    after = NOW + timedelta(hours=6)
    poll_now(store, 20, prefix="after", at=after)
    assert await restarted.check(after) is not None
    # The last hour before `after` holds the batch polled at `later` (published 10 minutes before it) too.
    assert [row["recent"] for row in spike_rows(store)] == [15, 20 + 20]
    assert len(restarted.posted()) == 2
    store.close()


async def test_two_checks_in_a_row_alert_once(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    poll_now(store, 12)
    alerts = Alerts(store, slack)
    first = await alerts.watch.check(CONFIG, NOW)
    second = await alerts.watch.check(CONFIG, NOW + timedelta(seconds=1))
    await alerts.watch.wait()
    await alerts.outbox.drain(within=10)
    assert first is not None and second is None
    assert len(alerts.posted()) == 1


@pytest.mark.parametrize(("count", "alerts_expected"), [(9, False), (10, True)])
async def test_small_numbers_never_alarm_even_against_a_zero_baseline(
    store: Store, slack: FakeSlack, count: int, alerts_expected: bool
) -> None:
    start_watcher(store)
    generate_history(store, [0] * 14)
    poll_now(store, count)
    alerts = Alerts(store, slack, SpikeRule(min_mentions=10))
    assert (await alerts.check() is not None) is alerts_expected
    assert len(alerts.posted()) == (1 if alerts_expected else 0)


@pytest.mark.parametrize(("count", "alerts_expected"), [(2, False), (3, True)])
async def test_a_zero_baseline_is_compared_with_a_floor_of_one_per_hour(
    store: Store, slack: FakeSlack, count: int, alerts_expected: bool
) -> None:
    start_watcher(store)
    generate_history(store, [0] * 13 + [1])  # a mean of 1/14: 2 mentions would be 28 times that
    poll_now(store, count)
    alerts = Alerts(store, slack, SpikeRule(factor=3, min_mentions=1))
    assert (await alerts.check() is not None) is alerts_expected


@pytest.mark.parametrize(("count", "alerts_expected"), [(89, False), (90, True)])
async def test_a_steady_high_volume_watcher_alerts_only_at_factor_times_its_usual(
    store: Store, slack: FakeSlack, count: int, alerts_expected: bool
) -> None:
    start_watcher(store)
    generate_history(store, [30] * 14)
    poll_now(store, count)
    alerts = Alerts(store, slack, SpikeRule(factor=3, min_mentions=10))
    assert (await alerts.check() is not None) is alerts_expected


async def test_days_before_the_watcher_existed_are_not_counted_as_quiet_days(store: Store, slack: FakeSlack) -> None:
    start_watcher(store, at=NOW - timedelta(days=3))
    generate_history(store, [8, 8])  # only two days watched: the baseline is 8, not 16/14
    poll_now(store, 20)
    alerts = Alerts(store, slack)
    assert await alerts.check() is None
    poll_now(store, 4, prefix="more")
    assert await alerts.check() is not None
    [row] = spike_rows(store)
    assert (row["recent"], row["baseline"], row["baseline_days"]) == (24, 8.0, 2)


async def test_a_catch_up_poll_counts_posts_when_they_were_published(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    generate_history(store, [1] * 14)
    # The watcher was down for a day: one poll brings 48 posts published over the last 24 hours.
    day = [
        Mention(source="rss", external_id=f"day-{index}", url=f"https://news.example/{index}", text="tram",
                created_at=NOW - timedelta(minutes=30 * index + 5))
        for index in range(48)
    ]
    store.record_poll("caen-tram", "C0TRAM", day, {}, now=NOW)
    alerts = Alerts(store, slack, SpikeRule(min_mentions=3))
    assert await alerts.check() is None
    assert alerts.posted() == []


async def test_undated_and_future_dated_posts_count_when_first_seen(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    poll_now(store, 6, prefix="undated", published=None)
    poll_now(store, 6, prefix="future", published=NOW + timedelta(days=5))
    alerts = Alerts(store, slack)
    assert await alerts.check() is not None
    assert spike_rows(store)[0]["recent"] == 12


async def test_posts_first_seen_long_ago_by_another_watcher_are_not_a_spike(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    old = mentions(15, None, prefix="old")
    store.record_poll("other", "C0OTHER", [], {}, now=NOW - timedelta(days=10))
    store.record_poll("other", "C0OTHER", old, {}, now=NOW - timedelta(days=2))
    store.record_poll("caen-tram", "C0TRAM", old, {}, now=NOW)
    alerts = Alerts(store, slack)
    assert await alerts.check() is None


def test_the_first_poll_backlog_and_backfill_are_not_counted(store: Store) -> None:
    store.record_poll("caen-tram", "C0TRAM", mentions(40, NOW - timedelta(minutes=5)), {}, backfill=12, now=NOW)
    poll_now(store, 3, prefix="next", at=NOW + timedelta(minutes=5))
    SpikeRecords(store).copy_card_times()
    rows = list(sql(store).query("select count(*) as n from spike_times where watcher = 'caen-tram'"))
    assert rows[0]["n"] == 3


# ---- through the real Poller ----------------------------------------------------------------------------------


def rss(items: list[tuple[str, str, datetime]]) -> str:
    body = "".join(
        f"<item><guid>https://news.example/{guid}</guid><title>{title}</title>"
        f"<link>https://news.example/{guid}</link><pubDate>{format_datetime(date)}</pubDate></item>"
        for guid, title, date in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{body}</channel></rss>"


class PollRig:
    def __init__(self, store: Store, slack: FakeSlack, feeds: FeedServer, http: httpx.AsyncClient,
                 clock: Callable[[], datetime]) -> None:
        self.store, self.feeds, self.http = store, feeds, http
        self.alerts = Alerts(store, slack)
        self.alerts.watch.clock = clock
        self.watchers: dict[str, RssWatcher] = {}
        self.poller = Poller(store, self.watchers, burst_threshold=1000)
        self.poller.after_record.append(self.alerts.watch.after_poll)

    def add(self, name: str, backfill: int = 0) -> None:
        config = WatcherConfig(name=name, source="rss", query=parse_query("tram"), channel="C0TRAM",
                               url=self.feeds.url(f"/{name}"), backfill=backfill)
        self.watchers[name] = RssWatcher(config, WatcherContext(http=self.http))

    async def poll(self, name: str) -> None:
        report = await self.poller.poll(name)
        assert report.ok, report.error
        await self.alerts.watch.wait()

    def spikes(self) -> list[dict[str, Any]]:
        return [m for m in self.alerts.posted() if m["text"].startswith("Spike on")]


@pytest.fixture
async def poll_rig(store: Store, slack: FakeSlack, feeds: FeedServer) -> AsyncIterator[PollRig]:
    http = new_http_client(httpx.Timeout(2.0))
    # Frozen a minute ahead of the test's start: the Poller stamps what it stores with the real clock.
    frozen = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    yield PollRig(store, slack, feeds, http, lambda: frozen)
    await http.aclose()


async def test_through_the_poller_a_burst_alerts_once_and_the_next_poll_is_in_cooldown(poll_rig: PollRig) -> None:
    now = poll_rig.alerts.watch.clock()
    start_watcher(poll_rig.store, "w", at=now - timedelta(days=20))
    poll_rig.add("w")
    burst = [(f"b{index}", f"tram strike {index}", now - timedelta(minutes=2 + 3 * index)) for index in range(14)]
    older = [(f"o{index}", f"tram works {index}", now - timedelta(hours=3, minutes=index)) for index in range(5)]
    poll_rig.feeds.add("/w", rss(burst + older))
    await poll_rig.poll("w")
    in_last_hour = sum(1 for _, _, date in burst + older if now - date < timedelta(hours=1))
    await poll_rig.alerts.outbox.drain(within=10)
    [alert] = poll_rig.spikes()
    assert f"*{in_last_hour}* mentions in the last hour" in block_text(alert, "volume")
    assert "Sources*: :newspaper: RSS " + str(in_last_hour) in block_text(alert, "sources")
    poll_rig.feeds.add("/w", rss([(f"c{index}", "tram again", now - timedelta(minutes=1)) for index in range(20)]))
    await poll_rig.poll("w")
    await poll_rig.alerts.outbox.drain(within=10)
    assert len(poll_rig.spikes()) == 1


async def test_mentions_past_max_cards_per_poll_count_in_the_spike(poll_rig: PollRig) -> None:
    now = poll_rig.alerts.watch.clock()
    start_watcher(poll_rig.store, "w", at=now - timedelta(days=20))
    poll_rig.add("w")
    poll_rig.poller.max_cards = 3
    burst = [(f"b{index}", f"tram strike {index}", now - timedelta(minutes=2 + 3 * index)) for index in range(14)]
    poll_rig.feeds.add("/w", rss(burst))
    await poll_rig.poll("w")
    await poll_rig.alerts.outbox.drain(within=10)
    [alert] = poll_rig.spikes()
    assert "*14* mentions in the last hour" in block_text(alert, "volume")


@pytest.mark.parametrize("backfill", [0, 15])
async def test_through_the_poller_a_first_run_backlog_does_not_alert(poll_rig: PollRig, backfill: int) -> None:
    now = poll_rig.alerts.watch.clock()
    poll_rig.add("new", backfill=backfill)
    poll_rig.feeds.add("/new", rss([(f"n{index}", "tram news", now - timedelta(minutes=index)) for index in range(40)]))
    await poll_rig.poll("new")
    await poll_rig.alerts.outbox.drain(within=10)
    assert poll_rig.spikes() == []
    assert spike_rows(poll_rig.store) == []


async def test_the_running_bot_wires_spike_alerts_to_its_outbox(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack
) -> None:
    (tmp_path / "watchers.toml").write_text(
        f'[[watcher]]\nname = "w"\nsource = "rss"\nurl = "{feeds.url("/w")}"\nquery = "tram"\n'
        'channel = "C0TRAM"\ninterval = "5m"\n'
    )
    settings = parse_settings({
        "WATCHERS_FILE": str(tmp_path / "watchers.toml"), "DATABASE_PATH": str(tmp_path / "v.db"),
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SPIKE_MIN_MENTIONS": "4",
        "SPIKE_CHANNEL": "C0SPIKES",
    })
    services = open_services(settings, new_slack_client("xoxb-test", slack.api_url))
    try:
        feeds.add("/w", rss([]))
        await services.poller.poll("w")
        now = datetime.now(UTC)
        feeds.add("/w", rss([(f"x{index}", "tram strike", now - timedelta(minutes=5)) for index in range(4)]))
        await services.poller.poll("w")
        hooks = [getattr(hook, "__self__", None) for hook in services.poller.after_record]
        [watch] = [hook for hook in hooks if isinstance(hook, SpikeWatch)]
        await watch.wait()
        services.outbox.pace = 0.0  # the cards go out too: no need to space them a second apart here
        await services.outbox.drain(within=10)
        [alert] = slack.posted_messages("C0SPIKES")
        assert "*4* mentions in the last hour" in block_text(alert, "volume")
    finally:
        await services.aclose()


# ---- content ---------------------------------------------------------------------------------------------------


async def test_the_alert_names_top_terms_sources_and_the_most_reached_mentions(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    poll_now(store, 6, prefix="masto", source="mastodon", text="Grève du tram: les conducteurs arrêtent", reach=50)
    poll_now(store, 4, prefix="rss", source="rss", text="La grève continue, retards sur le tram", reach=None)
    big = [
        Mention(source="bluesky", external_id=f"big-{reach}", url=f"https://bsky.example/{reach}",
                text="Grève: the tram is stopped", author_name=f"Big {reach}", author_reach=reach,
                created_at=NOW - timedelta(minutes=3))
        for reach in (9000, 120_000, 700)
    ]
    store.record_poll("caen-tram", "C0TRAM", big, {}, now=NOW)
    alerts = Alerts(store, slack)
    assert await alerts.check() is not None
    [message] = alerts.posted()
    terms = block_text(message, "terms")
    assert terms.startswith("*Top terms*: greve (13) · arretent (6) · conducteurs (6) · continue (4) · retards (4)")
    assert "tram" not in terms and " les " not in terms and " sur " not in terms
    sources = "*Sources*: :elephant: Mastodon 6 · :newspaper: RSS 4 · :butterfly: Bluesky 3"
    assert block_text(message, "sources") == sources
    top = block_text(message, "top").splitlines()[1:]
    assert [line.split(" · ")[1] for line in top] == ["Big 120000", "Big 9000", "Big 700"]
    assert top[0].startswith("• <https://bsky.example/120000|Grève: the tram is stopped>")


def test_top_terms_count_each_mention_once_and_skip_query_prefixes(store: Store) -> None:
    spike_mentions = [
        Mention(source="rss", external_id=str(i), url="", text="tramway tramway Métro métro 2026 #Manif")
        for i in range(3)
    ]
    start_watcher(store)
    store.record_poll("caen-tram", "C0TRAM", [*spike_mentions, *mentions(1, NOW, text="metro")], {}, now=NOW)
    SpikeRecords(store).copy_card_times()
    volume = measure(store, "caen-tram", NOW, PARIS)
    assert volume is not None
    facts = gather_facts(store, volume, parse_query("tram* -bus"))
    assert facts.terms == (("metro", 4), ("manif", 3))
    assert top_terms(facts.sample) == (("metro", 4), ("manif", 3), ("tramway", 3))


def test_the_facts_count_the_effective_stances_of_the_hour(store: Store) -> None:
    start_watcher(store)
    store.record_poll("caen-tram", "C0TRAM", [
        Mention(source="rss", external_id=str(i), url="", text=text)
        for i, text in enumerate(["Génial, encore une panne, merci", "Bravo pour le tram", "Honte à la mairie"])
    ], {}, now=NOW)
    SpikeRecords(store).copy_card_times()
    ids = [row["id"] for row in sql(store).query("select id from mentions order by id")]
    MentionLabels(store).record_model(ids[:1], {ids[0]: ModelLabel("against", False)})
    MentionLabels(store).correct(ids[1], "question", "U0ANN")
    volume = measure(store, "caen-tram", NOW, PARIS)
    assert volume is not None
    stances = gather_facts(store, volume).stances
    assert stances is not None
    assert {share.label: share.count for share in stances.shares if share.count} == {"against": 2, "question": 1}
    assert stances.by == (("team", 1), ("model", 1), ("estimate", 1))


# ---- the summary -----------------------------------------------------------------------------------------------


async def test_the_llm_summary_reads_fenced_mentions_and_is_shown_escaped(
    store: Store, slack: FakeSlack, openai_api: FakeOpenAI, make_llm: LLMFactory
) -> None:
    openai_api.reply = lambda request: "Drivers strike <!channel> & residents complain."
    start_watcher(store)
    poll_now(store, 11, text="Tram drivers on strike this morning")
    alerts = Alerts(store, slack, llm=make_llm(openai_api))
    assert await alerts.check() is not None
    [request] = openai_api.requests_for("messages about the team's topics has just jumped")
    assert "11 in the last hour" in request.system
    assert "Tram drivers on strike this morning" in request.user
    assert request.user.startswith("[[DATA ") and "Tram drivers" not in request.system
    [message] = alerts.posted()
    summary = "*What it is about*\nDrivers strike &lt;!channel&gt; &amp; residents complain."
    assert block_text(message, "summary") == summary
    assert "written by an LLM" in block_text(message, "summary_how")
    usage = list(sql(store).query("select task, outcome from llm_usage"))
    assert usage == [{"task": "spike", "outcome": "ok"}]
    assert spike_rows(store)[0]["summary_by"] == "llm"


async def test_without_an_llm_the_summary_quotes_the_most_representative_mention(
    store: Store, slack: FakeSlack
) -> None:
    start_watcher(store)
    poll_now(store, 5, prefix="a", text="tram strike: drivers stop the tram network today")
    poll_now(store, 5, prefix="b", text="strike on the tram network, drivers angry")
    poll_now(store, 1, prefix="c", text="lovely weather for cycling")
    alerts = Alerts(store, slack)
    assert await alerts.check() is not None
    [message] = alerts.posted()
    summary = block_text(message, "summary")
    assert summary.startswith("*What it is about*\nThe most representative mention, by Author ")
    assert "drivers" in summary and "cycling" not in summary
    assert "*Extractive summary* (no LLM is configured)" in block_text(message, "summary_how")
    assert spike_rows(store)[0]["summary_by"] == "not_configured"


async def test_when_the_llm_fails_the_extractive_summary_says_so(
    store: Store, slack: FakeSlack, openai_api: FakeOpenAI, make_llm: LLMFactory
) -> None:
    openai_api.fail_next(500, count=2)
    start_watcher(store)
    poll_now(store, 10)
    alerts = Alerts(store, slack, llm=make_llm(openai_api))
    assert await alerts.check() is not None
    [message] = alerts.posted()
    assert "the LLM failed (HTTP 500)" in block_text(message, "summary_how")
    assert "The most representative mention" in block_text(message, "summary")


async def test_an_alert_whose_summary_the_bot_never_finished_is_still_posted_once_labelled(
    store: Store, slack: FakeSlack, openai_api: FakeOpenAI, make_llm: LLMFactory
) -> None:
    openai_api.delay = 30.0
    start_watcher(store)
    poll_now(store, 10)
    llm = make_llm(openai_api)
    stopping = Alerts(store, slack, llm=llm)
    assert await stopping.watch.check(CONFIG, NOW) is not None
    for task in list(stopping.watch._tasks):  # the bot stops while the LLM is still writing
        task.cancel()
    await asyncio.gather(*stopping.watch._tasks, return_exceptions=True)
    assert await stopping.outbox.drain(within=0.5) == 1  # held for the LLM, not posted yet
    assert stopping.posted() == []

    [held] = store.due_deliveries(utcnow() + timedelta(seconds=llm.deadline + 60))
    assert held.kind == "notice" and held.not_before is not None
    restarted = Alerts(store, slack)
    assert await restarted.watch.check(CONFIG, NOW + timedelta(minutes=5)) is None  # the cooldown holds
    sql(store).execute("update deliveries set not_before = null where id = ?", [held.id])  # its hold has passed
    await restarted.outbox.drain(within=10)
    [message] = restarted.posted()
    assert "the LLM failed (interrupted)" in block_text(message, "summary_how")
    assert "The most representative mention" in block_text(message, "summary")


async def test_hostile_mentions_and_llm_answer_stay_inert(
    store: Store, slack: FakeSlack, openai_api: FakeOpenAI, make_llm: LLMFactory
) -> None:
    openai_api.reply = lambda request: (HOSTILE + " ") * 200
    start_watcher(store)
    hostile = [
        Mention(source=HOSTILE, external_id=f"x{index}", url=f"https://bad.example/{HOSTILE}", title=HOSTILE * 5,
                text=(HOSTILE + " tram ") * 100, author_name=HOSTILE, author_handle=HOSTILE,
                author_reach=10**index, created_at=NOW - timedelta(minutes=index))
        for index in range(12)
    ]
    store.record_poll("caen-tram", "C0TRAM", hostile, {}, now=NOW)
    alerts = Alerts(store, slack, llm=make_llm(openai_api))
    assert await alerts.check() is not None
    [message] = alerts.posted()
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)


async def test_the_alert_is_written_in_french(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    generate_history(store, [1, 2] * 7)
    poll_now(store, 10)
    alerts = Alerts(store, slack, lang="fr")
    assert await alerts.check() is not None
    [message] = alerts.posted()
    assert message["text"] == "Pic de mentions sur caen-tram\u202f: 10 mentions dans la dernière heure (d’habitude 1,5)"
    assert "*10* mentions dans la dernière heure, contre 1,5 d’habitude" in block_text(message, "volume")
    assert "Résumé extractif" in block_text(message, "summary_how")
    assert "avant le 24 nov. 2026 à 21:30" in block_text(message, "cooldown")


# ---- settings --------------------------------------------------------------------------------------------------


def test_spike_settings_have_defaults_and_are_validated() -> None:
    defaults = SpikeRule.from_settings(parse_settings({}))
    assert defaults == SpikeRule(factor=3.0, min_mentions=10, cooldown=timedelta(hours=6), channel=None)
    chosen = parse_settings({"SPIKE_FACTOR": "2.5", "SPIKE_MIN_MENTIONS": "4", "SPIKE_COOLDOWN": "90m",
                             "SPIKE_CHANNEL": "C0SPIKES"})
    assert SpikeRule.from_settings(chosen) == SpikeRule(2.5, 4, timedelta(minutes=90), "C0SPIKES")
    for name, value in [("SPIKE_FACTOR", "1"), ("SPIKE_FACTOR", "three"), ("SPIKE_MIN_MENTIONS", "0"),
                        ("SPIKE_COOLDOWN", "6"), ("SPIKE_CHANNEL", "#spikes")]:
        with pytest.raises(SettingsError) as raised:
            parse_settings({name: value})
        assert str(raised.value).startswith(name) and "\n" not in str(raised.value)


async def test_the_catch_up_of_spike_times_lets_the_loop_run_between_batches(store: Store, slack: FakeSlack) -> None:
    start_watcher(store)
    total = 2 * spikes.SYNC_BATCH + 10
    poll_now(store, total, at=NOW - timedelta(minutes=30))  # stored by a process that kept no spike times
    copied_meanwhile: list[int] = []
    alerts = Alerts(store, slack)
    check = asyncio.create_task(alerts.check())

    async def look_while_checking() -> None:
        while not check.done():
            copied_meanwhile.append(next(sql(store).query("select count(*) as n from spike_times"))["n"])
            await asyncio.sleep(0)

    spike, _ = await asyncio.gather(check, look_while_checking())
    # Another task ran after each batch of SYNC_BATCH deliveries (one of them the burst's roll-up) was copied.
    assert len({copied for copied in copied_meanwhile if 0 < copied < total}) == 2
    assert spike is not None
    [alert] = alerts.posted()
    assert f"*{total}* mentions in the last hour" in block_text(alert, "volume")


async def test_a_spike_alert_is_written_off_the_loop_from_a_read_connection(tmp_path: Path, slack: FakeSlack) -> None:
    store = Store.open(tmp_path / "veilleur.db")
    try:
        start_watcher(store)
        poll_now(store, 40, text="tram works on the avenue again")
        alerts = Alerts(store, slack)
        steps_meanwhile = 0
        check = asyncio.create_task(alerts.watch.check(CONFIG, NOW))

        async def run_meanwhile() -> None:
            nonlocal steps_meanwhile
            while not check.done():
                steps_meanwhile += 1
                await asyncio.sleep(0)

        spike, _ = await asyncio.gather(check, run_meanwhile())
        assert spike is not None and steps_meanwhile > 0
        await alerts.outbox.drain(within=10)
        [alert] = alerts.posted()
        assert "*40* mentions in the last hour" in block_text(alert, "volume")
        assert "works (40)" in block_text(alert, "terms")
    finally:
        store.close()


async def test_in_the_public_body_profile_the_summary_is_asked_with_pseudonyms_and_shown_with_names(
    store: Store, slack: FakeSlack, openai_api: FakeOpenAI, make_llm: LLMFactory
) -> None:
    openai_api.reply = lambda request: "Author 2 calls for a strike, echoed by many."
    start_watcher(store)
    residents = [
        Mention(source="mastodon", external_id=f"r{n}", url=f"https://m.example/{n}", text="Tram strike, says @jdupont",
                author_handle=f"resident{n}@m.example", author_name=f"Resident Number{n}", author_reach=n * 1000,
                created_at=NOW - timedelta(minutes=10))
        for n in range(11)
    ]
    store.record_poll("caen-tram", "C0TRAM", residents, {}, now=NOW)
    alerts = Alerts(store, slack, llm=make_llm(openai_api, PRIVACY_PROFILE="public-body"))
    assert await alerts.check() is not None
    [request] = openai_api.requests_for("messages about the team's topics has just jumped")
    assert "Resident" not in request.user and "resident" not in request.user and "jdupont" not in request.user
    assert "1. mastodon, Author 1 [reach over 10k]: Tram strike, says Author 12" in request.user
    assert "2. mastodon, Author 2 [reach 1k-10k]" in request.user
    [message] = alerts.posted()
    assert block_text(message, "summary") == "*What it is about*\nResident Number9 calls for a strike, echoed by many."
