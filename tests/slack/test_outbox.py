"""The outbox against the fake Slack Web API: pacing, 429, errors, crashes, exactly once."""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.database_lock import locked_database
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.store import Delivery, Priority, Store, utcnow
from veilleur.watching.health import SourceHealth


def render(delivery: Delivery) -> dict:
    if delivery.message is not None:
        return delivery.message
    label = f"rollup {delivery.rollup_count}" if delivery.kind == "rollup" else f"mention {delivery.mention_id}"
    return {"text": label}


def queue(store: Store, channel: str, count: int, watcher: str = "w", start: int = 0) -> None:
    if store.watcher_status(watcher).first_polled_at is None:
        store.record_poll(watcher, channel, [], {})
    mentions = [
        Mention(source="rss", external_id=f"id-{watcher}-{n}", url=f"https://e.org/{n}", text=f"t{n}")
        for n in range(start, start + count)
    ]
    store.record_poll(watcher, channel, mentions, {}, burst_threshold=100)


def make_outbox(slack: FakeSlack, store: Store, pace: float = 0.0) -> Outbox:
    return Outbox(store, new_slack_client("xoxb-test", slack.api_url), render, pace=pace)


def posted_texts(slack: FakeSlack, channel: str | None = None) -> list[str]:
    return [message["text"] for message in slack.posted_messages(channel)]


@pytest.fixture
def store() -> Store:
    return Store.open(":memory:")


async def test_posts_each_card_once_with_metadata_and_unfurls_off(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 3)
    outbox = make_outbox(slack, store)
    assert await outbox.drain(within=10) == 0
    calls = slack.calls_to("chat.postMessage")
    assert len(calls) == 3
    for call in calls:
        assert call.token == "xoxb-test"
        assert call.args["unfurl_links"] in (False, "false", "0", 0)
        assert call.args["unfurl_media"] in (False, "false", "0", 0)
        assert "link_names" not in call.args and "parse" not in call.args
        assert call.args["metadata"]["event_type"] == "veilleur_delivery"
    assert store.delivery_counts("w") == {"posted": 3}
    # a second drain has nothing left to do
    await outbox.drain(within=1)
    assert len(slack.calls_to("chat.postMessage")) == 3


async def test_posting_is_paced_per_channel_but_channels_run_in_parallel(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 3, watcher="a")
    queue(store, "C2", 3, watcher="b")
    await make_outbox(slack, store, pace=1.02).drain(within=20)
    for channel in ("C1", "C2"):
        times = [c.at for c in slack.calls_to("chat.postMessage") if c.args["channel"] == channel]
        assert len(times) == 3
        assert all(later - earlier >= 1.0 for earlier, later in pairwise(times))
    all_times = sorted(c.at for c in slack.calls_to("chat.postMessage"))
    assert all_times[-1] - all_times[0] < 3.5  # two channels interleave instead of queueing behind each other


async def test_429_storm_then_recovery_posts_everything_exactly_once(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 4)
    slack.fail_next("chat.postMessage", status=429, retry_after=1, count=3)
    await make_outbox(slack, store).drain(within=30)
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses.count(429) == 3
    assert Counter(posted_texts(slack)) == Counter(f"mention {n}" for n in range(1, 5))
    # Retry-After was honoured: no retry came sooner than one second after a 429
    calls = slack.calls_to("chat.postMessage")
    for refused, following in pairwise(calls):
        if refused.status == 429:
            assert following.at - refused.at >= 0.95


async def test_realistic_rate_limiter_with_pacing_gets_no_429(slack: FakeSlack, store: Store) -> None:
    slack.rate_limit_per_channel(1.0)
    queue(store, "C1", 3)
    await make_outbox(slack, store, pace=1.02).drain(within=20)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 200, 200]


async def test_server_errors_back_off_and_retry(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 1)
    slack.fail_next("chat.postMessage", status=500, count=1)
    await make_outbox(slack, store).drain(within=15)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [500, 200]
    assert len(slack.posted_messages("C1")) == 1


async def test_dropped_connection_after_slack_posted_is_not_posted_twice(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 2)
    slack.drop_next("chat.postMessage", processed=True)
    await make_outbox(slack, store).drain(within=15)
    assert sorted(posted_texts(slack)) == ["mention 1", "mention 2"]
    assert store.delivery_counts("w") == {"posted": 2}
    assert slack.calls_to("conversations.history")  # it checked the channel instead of posting blindly


async def test_dropped_connection_before_slack_got_it_is_posted_after_checking(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 1)
    slack.drop_next("chat.postMessage", processed=False)
    await make_outbox(slack, store).drain(within=15)
    assert posted_texts(slack) == ["mention 1"]
    assert store.delivery_counts("w") == {"posted": 1}


async def test_crash_between_post_and_record_is_settled_on_restart(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 2)
    first, second = store.due_deliveries()
    # what a process killed right after Slack answered leaves behind: a message in Slack, a row still `sending`
    store.mark_sending(first.id)
    slack.seed_message(
        "C1", f"mention {first.mention_id}", user="UBOT", bot_id="BBOT",
        metadata={"event_type": "veilleur_delivery", "event_payload": {"delivery_id": first.id}},
    )
    store.mark_sending(second.id)  # killed before the request left: Slack never saw it
    await make_outbox(slack, store).drain(within=10)
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage")] == [f"mention {second.mention_id}"]
    assert store.delivery_counts("w") == {"posted": 2}


async def test_permanent_refusal_marks_failed_and_keeps_the_mention(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 1)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    await make_outbox(slack, store).drain(within=5)
    assert store.delivery_counts("w") == {"failed": 1}
    assert store.count_mentions() == 1
    row = next(sql(store).query("select last_error from deliveries where kind = 'card'"))
    assert "channel_not_found" in row["last_error"] and "channel ID" in row["last_error"]


async def test_not_in_channel_joins_then_posts(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 1)
    slack.fail_next("chat.postMessage", error="not_in_channel")
    await make_outbox(slack, store).drain(within=5)
    assert len(slack.calls_to("conversations.join")) == 1
    assert posted_texts(slack, "C1") == ["mention 1"]


async def test_burst_replies_go_in_the_rollup_thread(slack: FakeSlack, store: Store) -> None:
    store.record_poll("w", "C1", [], {})
    mentions = [Mention(source="rss", external_id=f"b{n}", url="https://e.org", text="x") for n in range(4)]
    store.record_poll("w", "C1", mentions, {}, burst_threshold=2)
    await make_outbox(slack, store).drain(within=10)
    rollup, *replies = slack.posted_messages("C1")
    assert rollup["text"] == "rollup 4" and rollup.get("thread_ts", rollup["ts"]) == rollup["ts"]
    assert len(replies) == 4
    assert {reply["thread_ts"] for reply in replies} == {rollup["ts"]}


async def test_drain_stops_at_its_deadline_and_keeps_the_rest(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 2)
    slack.fail_next("chat.postMessage", status=429, retry_after=30)
    left = await make_outbox(slack, store).drain(within=1)
    assert left == 2
    assert store.delivery_counts("w") == {"pending": 2}
    assert store.next_due_time() >= utcnow() + timedelta(seconds=25)  # Retry-After: 30 was recorded


async def wait_until(condition, within: float = 20.0) -> None:
    """Poll `condition` until it holds; fail after `within` seconds (a deadline for the test, not a measure)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running(outbox: Outbox) -> AsyncIterator[None]:
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_quiet_channel_is_posted_at_once_while_another_drains_a_backlog(slack: FakeSlack, store: Store) -> None:
    queue(store, "CBUSY", 2000, watcher="busy")
    outbox = make_outbox(slack, store, pace=0.2)
    async with running(outbox):
        await wait_until(lambda: len(slack.posted_messages("CBUSY")) >= 2)
        busy_posts_when_queued = len(slack.posted_messages("CBUSY"))
        queue(store, "CQUIET", 1, watcher="quiet")
        outbox.wake()
        await wait_until(lambda: slack.posted_messages("CQUIET"))
        busy_posts_by_then = len(slack.posted_messages("CBUSY"))
    # the quiet card did not wait for the backlog (2,000 cards, 400 s at this pace): a post or two at most
    assert busy_posts_by_then <= busy_posts_when_queued + 3
    assert store.pending_count() > 1900  # and the backlog is still there, untouched by the test's end


async def test_a_health_alert_goes_before_the_cards_queued_ahead_of_it(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 500)
    health_alert(store, "C1", "first alert")
    outbox = make_outbox(slack, store, pace=0.1)
    async with running(outbox):
        await wait_until(lambda: len(slack.posted_messages("C1")) >= 3)
        posted_when_queued = len(slack.posted_messages("C1"))
        health_alert(store, "C1", "second alert")  # queued while the channel drains
        outbox.wake()
        await wait_until(lambda: "second alert" in posted_texts(slack, "C1"))
    texts = posted_texts(slack, "C1")
    assert texts[0] == "first alert"
    # next, after at most the card already on its way when it was queued
    assert texts.index("second alert") <= posted_when_queued + 1


def health_alert(store: Store, channel: str, text: str) -> None:
    """A health alert queued as health.py does."""
    config = WatcherConfig(name="flaky", source="rss", query=parse_query("tram"), channel=channel, url="https://e.org")
    failing = store.record_poll_failure("flaky", text)
    health = SourceHealth(store, lang="en", tz=ZoneInfo("Europe/Paris"), alert_after=failing.consecutive_failures)
    health.failed(config, failing)
    notice_id = next(sql(store).query("select max(id) as id from deliveries where kind = 'notice'"))["id"]
    sql(store)["deliveries"].update(notice_id, {"message": json.dumps({"text": text})})


async def test_notices_go_by_priority_then_in_the_order_queued(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 2)
    store.queue_notice("w", "C1", {"text": "digest"}, priority=Priority.DIGEST)
    store.queue_notice("w", "C1", {"text": "spike"})
    store.queue_notice("w", "C1", {"text": "health"}, priority=Priority.HEALTH)
    store.queue_notice("w", "C1", {"text": "campaign"}, priority=Priority.ALERT)
    await make_outbox(slack, store).drain(within=10)
    texts = posted_texts(slack, "C1")
    assert texts[:4] == ["health", "spike", "campaign", "digest"]
    assert sorted(texts[4:]) == ["mention 1", "mention 2"]


async def test_a_429_in_one_channel_does_not_hold_another(slack: FakeSlack, store: Store) -> None:
    queue(store, "CA", 2, watcher="a")
    queue(store, "CB", 3, watcher="b")
    slack.fail_next("chat.postMessage", status=429, retry_after=3)  # the first post, CA's
    await make_outbox(slack, store, pace=0.1).drain(within=20)
    calls = slack.calls_to("chat.postMessage")
    refused = calls[0]
    assert (refused.args["channel"], refused.status) == ("CA", 429)
    b_times = [c.at for c in calls if c.args["channel"] == "CB"]
    a_retries = [c.at for c in calls[1:] if c.args["channel"] == "CA"]
    assert len(b_times) == 3 and max(b_times) < refused.at + 1.5  # CB went on during CA's hold
    assert len(a_retries) == 2 and min(a_retries) - refused.at >= 2.9  # CA waited its Retry-After
    assert Counter(posted_texts(slack, "CA")) == Counter(["mention 1", "mention 2"])


async def test_a_channel_reads_only_its_next_row_whatever_its_backlog(slack: FakeSlack, store: Store) -> None:
    queue(store, "C1", 200)
    reads: list[tuple[str | None, int | None, int]] = []
    due = store.due_deliveries

    def recording(*args, **kwargs):
        rows = due(*args, **kwargs)
        reads.append((kwargs.get("channel"), kwargs.get("limit"), len(rows)))
        return rows

    store.due_deliveries = recording  # type: ignore[method-assign]
    await make_outbox(slack, store).drain(within=30)
    assert len(slack.posted_messages("C1")) == 201  # the rollup, then its 200 replies
    assert {(channel, limit) for channel, limit, _ in reads} == {("C1", 1)}
    assert max(count for _, _, count in reads) == 1


async def test_a_busy_database_pauses_posting_with_one_line_and_loses_nothing(
    slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(tmp_path / "v.db")
    queue(store, "C1", 3)
    outbox = make_outbox(slack, store)
    with locked_database(tmp_path / "v.db") as lock:
        asyncio.get_running_loop().call_later(0.5, lock.release)
        left = await outbox.drain(within=20)
    assert left == 0
    assert sorted(posted_texts(slack, "C1")) == [f"mention {n}" for n in (1, 2, 3)]
    failures = [record for record in caplog.records if "database is busy" in record.getMessage()]
    assert failures and all(record.exc_info is None for record in failures)  # one line each, no traceback
    store.close()
