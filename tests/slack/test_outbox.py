"""The outbox against the fake Slack Web API: pacing, 429, errors, crashes, exactly once."""

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.bot import Bot, BotLauncher
from tests.support.cli import env_for
from tests.support.database_lock import locked_database
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from tests.support.world import CARDS, story_mention, write_hn_watcher
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from veilleur.slack import cards
from veilleur.slack.outbox import MISSING_SCOPE_WAIT, Outbox, new_slack_client
from veilleur.storage.store import Delivery, Priority, Store, utcnow
from veilleur.watching.health import SourceHealth


def render(delivery: Delivery) -> dict:
    if delivery.kind == "removal":
        return cards.removal_notice(delivery.message["reason"], "en", days=delivery.message.get("days"))
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


def make_outbox(slack: FakeSlack, store: Store, pace: float = 0.0, removal_pace: float = 0.0) -> Outbox:
    return Outbox(store, new_slack_client("xoxb-test", slack.api_url), render, pace=pace, removal_pace=removal_pace)


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


# Removals of the bot's own messages (retention, erasure) ------------------------------------------------------


def bot_message(slack: FakeSlack, channel: str = "C1", text: str = "tram card") -> str:
    """A card of ours in the channel, with what a redaction must not leave behind: its blocks and an attachment."""
    blocks = [{"type": "section", "block_id": "body", "text": {"type": "mrkdwn", "text": text}}]
    attachments = [{"fallback": text, "title": "unfurl", "title_link": "https://e.org/tram"}]
    return slack.seed_message(channel, text, user="UBOT", bot_id="BBOT", blocks=blocks, attachments=attachments)["ts"]


def removal_rows(store: Store) -> list[dict]:
    return list(sql(store).query(
        "select state, attempts, not_before, last_error, target_ts from deliveries where kind = 'removal' order by id"
    ))


async def test_a_redaction_replaces_every_block_and_attachment_of_the_message(slack: FakeSlack, store: Store) -> None:
    ts = bot_message(slack)
    store.queue_card_removal("w", "C1", ts, "redact", "retention", days=90)
    assert await make_outbox(slack, store).drain(within=5) == 0
    (call,) = slack.calls_to("chat.update")
    assert (call.args["channel"], call.args["ts"], call.args["attachments"]) == ("C1", ts, [])
    assert call.args["text"] == "Content removed: end of the retention period (90 days)"
    (message,) = slack.messages["C1"]
    assert message["blocks"] == call.args["blocks"] and message["attachments"] == []
    assert "tram" not in json.dumps(message)
    assert [row["state"] for row in removal_rows(store)] == ["removed"]
    assert slack.calls_to("chat.postMessage") == []


async def test_a_deletion_deletes_the_message(slack: FakeSlack, store: Store) -> None:
    kept, deleted = bot_message(slack, text="kept"), bot_message(slack, text="deleted")
    store.queue_card_removal("w", "C1", deleted, "delete", "author_request")
    await make_outbox(slack, store).drain(within=5)
    (call,) = slack.calls_to("chat.delete")
    assert (call.args["channel"], call.args["ts"]) == ("C1", deleted)
    assert [m["ts"] for m in slack.messages["C1"]] == [kept]
    assert slack.calls_to("chat.update") == []
    assert [row["state"] for row in removal_rows(store)] == ["removed"]


async def test_removals_are_not_counted_as_cards_and_go_after_them(slack: FakeSlack, store: Store) -> None:
    for n in range(3):
        store.queue_card_removal("w", "C1", bot_message(slack, text=f"old {n}"), "redact", "retention")
    queue(store, "C1", 1)  # a new card, queued after the three removals
    assert store.delivery_counts("w") == {"pending": 1}
    assert store.pending_removals() == 3
    await make_outbox(slack, store).drain(within=5)
    order = [call.method for call in slack.calls]
    assert order == ["chat.postMessage", "chat.update", "chat.update", "chat.update"]
    assert store.delivery_counts("w") == {"posted": 1}
    assert store.pending_removals() == 0


async def test_a_card_queued_while_removals_drain_does_not_wait_for_the_next_removal_turn(
    slack: FakeSlack, store: Store
) -> None:
    for n in range(10):
        store.queue_card_removal("w", "C1", bot_message(slack, text=f"old {n}"), "redact", "retention")
    outbox = make_outbox(slack, store, removal_pace=1.0)
    async with running(outbox):
        await slack.wait_for_calls("chat.update", 1)
        queue(store, "C1", 1)
        queued_at = time.monotonic()
        outbox.wake()
        (card,) = await slack.wait_for_calls("chat.postMessage", 1)
    assert card.at - queued_at < 0.5
    assert len(slack.calls_to("chat.update")) == 1  # the removals kept their pace meanwhile


async def test_a_429_on_a_removal_waits_its_retry_after_then_succeeds(slack: FakeSlack, store: Store) -> None:
    ts = bot_message(slack)
    store.queue_card_removal("w", "C1", ts, "redact", "author_request")
    slack.fail_next("chat.update", status=429, retry_after=1)
    await make_outbox(slack, store).drain(within=10)
    refused, done = slack.calls_to("chat.update")
    assert (refused.status, done.status) == (429, 200)
    assert done.at - refused.at >= 0.95
    assert done.args["text"] == "Content removed at the author’s request"
    assert [(row["state"], row["attempts"]) for row in removal_rows(store)] == [("removed", 0)]


async def test_a_429_on_removals_holds_them_in_every_channel_but_not_the_cards(slack: FakeSlack, store: Store) -> None:
    store.queue_card_removal("w", "C1", bot_message(slack, "C1"), "delete", "retention")
    store.queue_card_removal("w", "C2", bot_message(slack, "C2"), "delete", "retention")
    slack.fail_next("chat.delete", status=429, retry_after=2)
    outbox = make_outbox(slack, store, removal_pace=0.2)
    async with running(outbox):
        (refused,) = await slack.wait_for_calls("chat.delete", 1)
        queue(store, "C1", 1)
        outbox.wake()
        (card,) = await slack.wait_for_calls("chat.postMessage", 1)
        await slack.wait_for_calls("chat.delete", 3, within=10)
    assert card.at - refused.at < 1.0  # the card did not wait for the removals' Retry-After
    later = slack.calls_to("chat.delete")[1:]
    assert {call.args["channel"] for call in later} == {"C1", "C2"}
    assert all(call.status == 200 and call.at - refused.at >= 1.95 for call in later)  # the other channel waited too


async def test_removals_take_turns_across_channels_at_the_removal_pace(slack: FakeSlack, store: Store) -> None:
    for channel in ("C1", "C2"):
        for _ in range(2):
            store.queue_card_removal("w", channel, bot_message(slack, channel), "redact", "retention")
    await make_outbox(slack, store, removal_pace=0.3).drain(within=10)
    times = [call.at for call in slack.calls_to("chat.update")]
    assert len(times) == 4
    assert all(later - earlier >= 0.28 for earlier, later in pairwise(times))


async def test_a_message_already_gone_ends_its_removal_without_retry(slack: FakeSlack, store: Store) -> None:
    store.queue_card_removal("w", "C1", "1700000000.000001", "redact", "retention")
    await make_outbox(slack, store).drain(within=5)
    (call,) = slack.calls_to("chat.update")
    assert call.error == "message_not_found"
    assert [(row["state"], row["last_error"]) for row in removal_rows(store)] == [("gone", "message_not_found")]


@pytest.mark.parametrize(
    ("method", "action", "code", "hint"),
    [
        ("chat.update", "redact", "cant_update_message", "not posted by this bot"),
        ("chat.update", "redact", "edit_window_closed", "SLACK_CARD_RETENTION=delete"),
        ("chat.update", "redact", "is_archived", "unarchive"),
        ("chat.delete", "delete", "channel_not_found", "delete it by hand"),
        ("chat.delete", "delete", "compliance_exports_prevent_deletion", "SLACK_CARD_RETENTION=redact"),
    ],
)
async def test_a_removal_slack_will_never_do_ends_failed_and_is_said_once(
    slack: FakeSlack, store: Store, caplog: pytest.LogCaptureFixture, method: str, action: str, code: str, hint: str
) -> None:
    for _ in range(3):
        store.queue_card_removal("w", "C1", bot_message(slack), action, "retention")
    slack.fail_next(method, error=code, count=3)
    with caplog.at_level(logging.DEBUG, logger="veilleur.slack.outbox"):
        await make_outbox(slack, store).drain(within=5)
    assert len(slack.calls_to(method)) == 3  # one call each, no retry
    rows = removal_rows(store)
    assert {row["state"] for row in rows} == {"failed"}
    assert all(code in row["last_error"] and hint in row["last_error"] for row in rows)
    said = [r for r in caplog.records if r.levelno >= logging.WARNING and code in r.getMessage()]
    assert len(said) == 1 and hint in said[0].getMessage()


async def test_a_missing_scope_is_said_once_and_the_removals_wait(
    slack: FakeSlack, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    for channel in ("C1", "C2"):
        store.queue_card_removal("w", channel, bot_message(slack, channel), "delete", "retention")
    slack.fail_next("chat.delete", error="missing_scope", count=2)
    await make_outbox(slack, store).drain(within=1)
    assert len(slack.calls_to("chat.delete")) == 2  # both channels' turns came before the first answer
    assert [row["state"] for row in removal_rows(store)] == ["pending", "pending"]  # nothing lost
    assert store.next_due_time() >= utcnow() + timedelta(seconds=MISSING_SCOPE_WAIT - 10)
    said = [r.getMessage() for r in caplog.records if "scope" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(said) == 1 and "chat:write" in said[0] and "reinstall" in said[0]


async def test_server_errors_and_lost_answers_retry_a_removal(slack: FakeSlack, store: Store) -> None:
    ts = bot_message(slack)
    store.queue_card_removal("w", "C1", ts, "redact", "retention")
    slack.fail_next("chat.update", status=500)
    slack.drop_next("chat.update", processed=True)  # Slack edited it, the answer was lost: editing again is harmless
    await make_outbox(slack, store).drain(within=20)
    assert [call.status for call in slack.calls_to("chat.update")] == [500, 0, 200]
    assert [(row["state"], row["attempts"]) for row in removal_rows(store)] == [("removed", 2)]
    assert slack.calls_to("conversations.history") == []  # nothing to look for: no post can be doubled


async def test_a_removal_left_sending_by_a_crash_is_sent_again_on_restart(slack: FakeSlack, store: Store) -> None:
    ts = bot_message(slack)
    removal = store.queue_card_removal("w", "C1", ts, "delete", "author_request")
    store.mark_sending(removal)  # killed while the call was out: Slack may or may not have deleted it
    await make_outbox(slack, store).drain(within=5)
    (call,) = slack.calls_to("chat.delete")
    assert call.args["ts"] == ts and call.ok
    assert slack.messages["C1"] == []
    assert [row["state"] for row in removal_rows(store)] == ["removed"]
    assert slack.calls_to("conversations.history") == []


# The same, in the running bot: its outbox, its render, its language --------------------------------------------


@pytest.fixture
def start_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
):
    async def start(**env: str) -> Bot:
        write_hn_watcher(tmp_path / "watchers.toml", feeds)
        return await launch_bot(env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port),
                                        **env))

    return start


@pytest.mark.parametrize(
    ("lang", "reason", "days", "notice"),
    [
        ("en", "retention", 90, "Content removed: end of the retention period (90 days)"),
        ("en", "author_request", None, "Content removed at the author’s request"),
        ("fr", "retention", 1, "Contenu retiré\u202f: fin de la durée de conservation (1 jour)"),
        ("fr", "retention", None, "Contenu retiré\u202f: fin de la durée de conservation"),
        ("fr", "author_request", None, "Contenu retiré à la demande de l’auteur"),
    ],
)
async def test_the_bot_redacts_its_card_to_a_notice_in_its_language(
    start_bot, slack: FakeSlack, lang: str, reason: str, days: int | None, notice: str
) -> None:
    bot = await start_bot(BOT_LANGUAGE=lang)
    _, card = await bot.post_card(story_mention())
    assert "tram line" in json.dumps(card)
    bot.services.store.queue_card_removal("hn", CARDS, card["ts"], "redact", reason, days=days)
    bot.services.outbox.wake()
    (update,) = await slack.wait_for_calls("chat.update", 1, within=10)
    assert (update.args["ts"], update.args["text"]) == (card["ts"], notice)
    (shown,) = [message for message in slack.posted_messages(CARDS) if message["ts"] == card["ts"]]
    assert shown["text"] == notice and [block["block_id"] for block in shown["blocks"]] == ["removed"]
    assert notice in shown["blocks"][0]["elements"][0]["text"]
    assert "tram" not in json.dumps(shown).lower() and "cityhall" not in json.dumps(shown)


async def test_the_bot_deletes_its_card_when_the_removal_says_so(start_bot, slack: FakeSlack) -> None:
    bot = await start_bot(BOT_LANGUAGE="fr")
    _, card = await bot.post_card(story_mention())
    bot.services.store.queue_card_removal("hn", CARDS, card["ts"], "delete", "author_request")
    bot.services.outbox.wake()
    (deletion,) = await slack.wait_for_calls("chat.delete", 1, within=10)
    assert (deletion.args["channel"], deletion.args["ts"], deletion.ok) == (CARDS, card["ts"], True)
    assert slack.posted_messages(CARDS) == []
    assert slack.calls_to("chat.update") == []
