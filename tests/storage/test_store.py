import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from tests.support.database_lock import locked_database
from tests.support.sql import sql
from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.storage.digests import FoundMentions
from veilleur.storage.spikes import SpikeRecords
from veilleur.storage.store import DatabaseUnavailable, Priority, Store, migrations
from veilleur.storage.watchers import WatcherStore

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def mention(n: int, **changes: object) -> Mention:
    base = Mention(
        source="rss",
        external_id=f"https://example.org/{n}",
        url=f"https://example.org/{n}",
        text=f"text {n}",
        title=f"title {n}",
        created_at=NOW - timedelta(hours=n),
    )
    return replace(base, **changes)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "data" / "test.db")


def pending_mention_ids(store: Store) -> list[int | None]:
    return [d.mention_id for d in store.due_deliveries(NOW + timedelta(days=1)) if d.kind == "card"]


def test_open_creates_folder_uses_wal_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "db.sqlite"
    Store.open(path).close()
    store = Store.open(path)
    assert sql(store).execute("pragma journal_mode").fetchone()[0] == "wal"
    assert {"mentions", "deliveries", "watcher_state"} <= set(sql(store).table_names())


def test_first_poll_is_quiet_then_only_new_items_are_queued(store: Store) -> None:
    first = store.record_poll("w", "C1", [mention(1), mention(2)], {"etag": "a"}, now=NOW)
    assert (first.new_mentions, first.queued, first.quiet) == (2, 0, 2)
    assert pending_mention_ids(store) == []
    second = store.record_poll("w", "C1", [mention(1), mention(2), mention(3)], {"etag": "b"}, now=NOW)
    assert (second.new_mentions, second.queued, second.quiet) == (1, 1, 0)
    assert [store.mention(i).external_id for i in pending_mention_ids(store)] == ["https://example.org/3"]
    assert store.watcher_status("w").cursor == {"etag": "b"}


def test_backfill_posts_the_newest_in_chronological_order(store: Store) -> None:
    outcome = store.record_poll("w", "C1", [mention(n) for n in (5, 1, 3, 2, 4)], {}, backfill=2, now=NOW)
    assert (outcome.queued, outcome.quiet) == (2, 3)
    # mention(1) is the newest (1 hour old), mention(2) the next; the older of the two is posted first
    titles = [store.mention(i).title for i in pending_mention_ids(store)]
    assert titles == ["title 2", "title 1"]


@pytest.mark.parametrize("backfill", [2, 3, 100])
def test_backfill_as_large_as_or_larger_than_the_items_posts_them_all(store: Store, backfill: int) -> None:
    outcome = store.record_poll("w", "C1", [mention(2), mention(1)], {}, backfill=backfill, now=NOW)
    assert (outcome.queued, outcome.quiet) == (2, 0)
    assert [store.mention(i).title for i in pending_mention_ids(store)] == ["title 2", "title 1"]


def test_past_the_card_limit_the_best_are_queued_and_the_rest_stored_on_the_rollup(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    # mention(n) has n * 100 followers (a score of n); two more have no followers nor interactions.
    mentions = [mention(n, author_reach=n * 100) for n in range(1, 11)]
    mentions += [mention(20, author_reach=None), mention(21, engagement={"likes": 0})]
    outcome = store.record_poll("w", "C1", mentions, {}, burst_threshold=50, max_cards=4, now=NOW)
    assert (outcome.new_mentions, outcome.queued, outcome.overflow) == (12, 4, 8)
    # the 4 best (10, 9, 8, 7), posted oldest first (mention(n) is n hours old)
    assert [store.mention(mid).title for _, mid in outcome.cards] == [f"title {n}" for n in (10, 9, 8, 7)]
    rollup = store.delivery(outcome.rollup_id)
    assert (rollup.rollup_count, rollup.rollup_more) == (4, 8)
    assert [store.mention(i).title for i in rollup.rollup_top] == [f"title {n}" for n in (6, 5, 4, 3, 2)]
    assert store.delivery_counts("w") == {"pending": 4, "overflow": 8}
    assert {store.delivery(card_id).parent_id for card_id, _ in outcome.cards} == {rollup.id}


def test_past_the_card_limit_equal_scores_favour_the_newest_as_backfill_does(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [mention(n) for n in range(1, 6)], {}, max_cards=2, now=NOW)
    assert [store.mention(mid).title for _, mid in outcome.cards] == ["title 2", "title 1"]
    assert [store.mention(i).title for i in store.delivery(outcome.rollup_id).rollup_top] == [
        "title 3", "title 4", "title 5"
    ]


def test_under_the_card_limit_and_the_burst_threshold_no_rollup(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [mention(1), mention(2)], {}, burst_threshold=5, max_cards=2, now=NOW)
    assert (outcome.queued, outcome.overflow, outcome.rollup_id) == (2, 0, None)


def test_past_the_card_limit_a_rollup_is_made_even_under_the_burst_threshold(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [mention(n) for n in range(1, 4)], {}, burst_threshold=5, max_cards=1,
                                now=NOW)
    assert (outcome.queued, outcome.overflow) == (1, 2)
    assert store.delivery(outcome.rollup_id).rollup_more == 2


def test_due_deliveries_reads_one_channels_page_in_priority_order(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    store.record_poll("w", "C1", [mention(n) for n in range(1, 6)], {}, burst_threshold=50, now=NOW)
    store.record_poll("v", "C2", [], {}, now=NOW - timedelta(days=1))
    store.record_poll("v", "C2", [mention(n, external_id=f"v{n}") for n in range(1, 3)], {}, now=NOW)
    health = store.queue_notice("w", "C1", {"text": "h"}, NOW, priority=Priority.HEALTH)
    page = store.due_deliveries(NOW, channel="C1", limit=3)
    assert page[0].id == health and len(page) == 3
    assert {d.channel for d in page} == {"C1"}
    assert store.channels_with_work() == ["C1", "C2"]
    plan = " ".join(
        row[3]
        for row in sql(store).execute(
            "explain query plan select d.* from deliveries d where d.state = 'pending' and d.channel = ?"
            " order by d.priority, d.id limit 3",
            ["C1"],
        )
    )
    assert "deliveries_due" in plan and "TEMP B-TREE" not in plan


def card_counts(store: Store) -> tuple[object, ...]:
    """Every count of cards the bot shows: a watcher's cards by state, the watchers with cards, the App Home's
    finds, the digest's, and the cards the spike check counts."""
    day = (NOW - timedelta(days=1), NOW + timedelta(days=1))
    return (
        store.delivery_counts("w"),
        store.delivery_counts("cleaner"),
        store.watchers_with_cards(),
        WatcherStore(store).cards_since(day[0]),
        FoundMentions(store, ["w", "cleaner"]).counts("watcher", [day]),
        SpikeRecords(store).copy_card_times(),
    )


def test_removals_are_outbox_work_but_never_counted_as_cards(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(hours=1))
    store.record_poll("w", "C1", [mention(1), mention(2)], {}, now=NOW)
    counted = card_counts(store)
    assert counted[0] == {"pending": 2} and counted[-1] == 2
    removals = [
        store.queue_card_removal(watcher, channel, f"1700000000.00000{n}", "redact", "retention", now=NOW)
        for n, (watcher, channel) in enumerate([("w", "C1"), ("cleaner", "C1"), ("cleaner", "C2")])
    ]
    after = card_counts(store)
    assert after[:-1] == counted[:-1] and after[-1] == 0  # no new card for the spike check either
    assert store.channels_with_work() == ["C1", "C2"]
    assert [d.kind for d in store.due_deliveries(NOW, channel="C1")] == ["card", "card", "removal", "removal"]
    assert store.pending_count() == 5 and store.pending_removals() == 3
    store.mark_removed(removals[0], NOW)
    store.mark_removed(removals[1], NOW, nothing_left="message_not_found")
    store.mark_failed(removals[2], "is_archived")
    assert [store.delivery(i).state for i in removals] == ["removed", "gone", "failed"]
    assert store.pending_removals() == 0 and store.channels_with_work() == ["C1"]
    assert card_counts(store)[:-1] == counted[:-1]


def test_a_removal_is_a_redaction_or_a_deletion_for_a_known_reason(store: Store) -> None:
    removal = store.queue_card_removal("w", "C1", "1.000001", "delete", "author_request")
    assert store.delivery(removal).message == {"action": "delete", "reason": "author_request"}
    assert store.delivery(store.queue_card_removal("w", "C1", "1.000002", "redact", "retention", days=30)).message == {
        "action": "redact", "reason": "retention", "days": 30}
    for action, reason in (("hide", "retention"), ("redact", "because")):
        with pytest.raises(ValueError, match="redact or delete"):
            store.queue_card_removal("w", "C1", "1.000003", action, reason)


def test_redated_or_reordered_items_are_not_new(store: Store) -> None:
    store.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    outcome = store.record_poll(
        "w", "C1", [mention(2), mention(1, created_at=NOW + timedelta(days=3), title="edited")], {}, now=NOW
    )
    assert outcome.new_mentions == 1
    assert store.count_mentions() == 2
    assert store.mention(1).title == "title 1"


def test_same_mention_seen_by_two_watchers_is_one_mention_and_two_cards(store: Store) -> None:
    store.record_poll("a", "C1", [], {}, now=NOW)
    store.record_poll("b", "C2", [], {}, now=NOW)
    store.record_poll("a", "C1", [mention(1)], {}, now=NOW)
    store.record_poll("b", "C2", [mention(1)], {}, now=NOW)
    assert store.count_mentions() == 1
    due = store.due_deliveries(NOW)
    assert sorted((d.watcher, d.channel) for d in due) == [("a", "C1"), ("b", "C2")]


def test_a_mention_found_by_two_watchers_belongs_to_the_first(store: Store) -> None:
    store.record_poll("first", "C1", [mention(1)], {}, now=NOW)
    store.record_poll("second", "C2", [], {}, now=NOW)
    store.record_poll("second", "C2", [mention(1)], {}, now=NOW)
    (mention_id,) = store.mention_ids_at_url("https://example.org/1")
    assert store.watcher_of(mention_id) == "first"
    assert store.watcher_of(mention_id + 1) is None


def test_a_mention_is_found_by_its_link_with_or_without_a_trailing_slash(store: Store) -> None:
    page = "https://example.org/page"
    store.record_poll("w", "C1", [mention(1, url=page), mention(2, url=page + "/"), mention(3)], {}, now=NOW)
    first, second = store.mention_ids_at_url(page)
    assert first < second
    assert store.mention_ids_at_url(page + "/") == [first, second]
    assert store.mention_ids_at_url("https://example.org/elsewhere") == []


def test_burst_is_queued_as_a_rollup_with_replies(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW)
    outcome = store.record_poll("w", "C1", [mention(n) for n in range(1, 8)], {}, burst_threshold=5, now=NOW)
    assert outcome.rollup_id is not None
    due = store.due_deliveries(NOW)
    # replies wait until the rollup has a ts
    assert [d.kind for d in due] == ["rollup"]
    assert due[0].rollup_count == 7
    store.mark_sending(due[0].id, NOW)
    store.mark_posted(due[0].id, "1700000000.000100", None, NOW)
    replies = store.due_deliveries(NOW)
    assert len(replies) == 7
    assert {d.thread_ts for d in replies} == {"1700000000.000100"}


def test_duplicates_inside_one_batch_are_one_card(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW)
    outcome = store.record_poll("w", "C1", [mention(1), mention(1)], {}, now=NOW)
    assert outcome.queued == 1


def test_failures_are_counted_and_reset_by_success(store: Store) -> None:
    store.record_poll_failure("w", "HTTP 500", NOW)
    status = store.record_poll_failure("w", "HTTP 502", NOW)
    assert status.consecutive_failures == 2 and status.last_error == "HTTP 502"
    store.record_poll("w", "C1", [], {}, now=NOW)
    assert store.watcher_status("w").consecutive_failures == 0


def test_an_error_is_kept_in_english_and_as_a_phrase_to_say_in_french(store: Store) -> None:
    refused = Phrase.of("error.refused", host="10.1.2.3", url="http://10.1.2.3/feed")
    status = store.record_poll_failure("w", refused, NOW)
    assert status.last_error == (
        "10.1.2.3 refused the connection for http://10.1.2.3/feed (is the server down, or the port wrong?)"
    )
    assert store.watcher_status("w").problem.say("fr").startswith("10.1.2.3 a refusé la connexion")
    (failure,) = store.poll_failures(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert failure.error == status.last_error and failure.problem == refused


def test_an_error_stored_without_its_phrase_is_shown_as_it_was_written(store: Store) -> None:
    store.record_poll_failure("w", "HTTP 500 from an older version", NOW)
    sql(store).execute("update watcher_state set last_error_phrase = null")
    sql(store).execute("update poll_failures set error_phrase = '{\"key\": \"error.gone\", \"params\": {}}'")
    assert store.watcher_status("w").problem.say("en") == "HTTP 500 from an older version"
    assert store.watcher_status("w").problem.say("fr") == "erreur technique (HTTP 500 from an older version)"
    (failure,) = store.poll_failures(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert failure.problem.say("en") == "HTTP 500 from an older version"


def test_requeue_respects_not_before(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW)
    store.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    (delivery,) = store.due_deliveries(NOW)
    store.requeue(delivery.id, NOW + timedelta(seconds=30), "rate limited", count_attempt=False)
    assert store.due_deliveries(NOW) == []
    assert [d.id for d in store.due_deliveries(NOW + timedelta(seconds=31))] == [delivery.id]


def test_dry_run_copy_leaves_the_file_untouched(store: Store) -> None:
    store.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    assert store.path is not None
    before = Path(store.path).read_bytes()
    copy = Store.open_copy(store.path)
    copy.record_poll("w", "C1", [mention(2)], {}, now=NOW)
    assert copy.count_mentions() == 2
    assert store.count_mentions() == 1
    assert Path(store.path).read_bytes() == before


def test_a_dry_run_copy_of_no_database_creates_no_file(tmp_path: Path) -> None:
    copy = Store.open_copy(tmp_path / "data" / "veilleur.db")
    copy.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    assert copy.count_mentions() == 1
    assert list(tmp_path.iterdir()) == []


def test_a_dry_run_copy_of_an_older_database_migrates_the_copy_only(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="m010_outbox_priority")
    old.conn.close()
    before = path.read_bytes()
    copy = Store.open_copy(path)
    copy.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    assert copy.due_deliveries(NOW) == [] and copy.count_mentions() == 1
    assert "target_ts" in sql(copy)["deliveries"].columns_dict
    assert path.read_bytes() == before


def test_card_lookup_by_channel_and_ts(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW)
    store.record_poll("w", "C1", [mention(1)], {}, now=NOW)
    (delivery,) = store.due_deliveries(NOW)
    store.mark_posted(delivery.id, "123.456", None, NOW)
    found = store.card_for_message("C1", "123.456")
    assert found is not None and found.mention_id == delivery.mention_id
    assert store.card_for_message("C1", "999.000") is None


async def test_a_write_waits_for_another_programs_lock_without_holding_the_loop(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "v.db")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    with locked_database(tmp_path / "v.db") as lock:
        asyncio.get_running_loop().call_later(0.4, lock.release)
        running = asyncio.create_task(ticker())
        # A transaction that writes first waits in SQLite's busy handler; one that reads first fails at once.
        status = await store.write_patiently(lambda: store.record_poll_failure("w", "HTTP 500", NOW))
        outcome = await store.write_patiently(lambda: store.record_poll("w", "C1", [mention(1)], {}, now=NOW))
        running.cancel()
    assert status.consecutive_failures == 1
    assert outcome.new_mentions == 1 and store.count_mentions() == 1
    assert ticks >= 20  # the loop kept running while the write waited
    store.close()


async def test_a_lock_held_too_long_fails_the_write_naming_a_busy_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "v.db")
    with locked_database(tmp_path / "v.db"), pytest.raises(DatabaseUnavailable, match="database is busy"):
        await store.write_patiently(lambda: store.record_poll("w", "C1", [mention(1)], {}, now=NOW), patience=0.3)
    assert store.count_mentions() == 0
    assert store.watcher_status("w").cursor == {}
    store.close()


async def test_a_read_only_database_and_a_full_one_are_named_as_such(tmp_path: Path) -> None:
    Store.open(tmp_path / "v.db").close()
    read_only = Store(Database(sqlite3.connect(f"file:{tmp_path / 'v.db'}?mode=ro", uri=True, isolation_level=None)))
    with pytest.raises(DatabaseUnavailable, match="database is read-only"):
        await read_only.write_patiently(lambda: read_only.record_poll("w", "C1", [mention(1)], {}, now=NOW))
    full = Store.open(tmp_path / "v.db")
    pages = sql(full).execute("pragma page_count").fetchone()[0]
    sql(full).execute(f"pragma max_page_count = {pages}")
    big = replace(mention(1), text="x" * 200_000)
    with pytest.raises(DatabaseUnavailable, match="disk is full"):
        await full.write_patiently(lambda: full.record_poll("w", "C1", [big], {}, now=NOW))
    assert full.count_mentions() == 0
    full.close()


def test_m012_takes_the_e_mail_addresses_out_of_authors_stored_before(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path, isolation_level=None))
    migrations.apply(old, stop_before="m012_no_email_addresses")
    authors = [
        ("rss", "", "jean@example.fr (Jean Dupont)"),
        ("rss", "", "marie@example.fr"),
        ("mastodon", "ann@mastodon.social", "Ann [ann@example.fr]"),
        ("hackernews", "bob@example.org", "Bob"),
        ("reddit", "carol", "Carol (at) home"),
    ]
    for n, (source, handle, name) in enumerate(authors, start=1):
        old["mentions"].insert({"id": n, "source": source, "external_id": str(n), "url": f"https://x.example/{n}",
                                "text": f"write to tram{n}@mairie.example", "author_handle": handle,
                                "author_name": name, "first_seen_at": "2026-11-24T09:00:00+00:00"})
    old["deliveries"].insert({"id": 1, "kind": "card", "watcher": "w", "channel": "C1", "mention_id": 1,
                              "state": "posted", "created_at": "2026-11-24T09:00:00+00:00"})
    old["stories"].insert({"id": 1, "channel": "C1", "watcher": "w", "first_card_id": 1,
                           "created_at": "2026-11-24T09:00:00+00:00"})
    old["story_members"].insert({"card_id": 1, "story_id": 1, "mention_id": 1, "channel": "C1",
                                 "author": "rss:jean@example.fr (jean dupont)", "joined_by": "first",
                                 "at": "2026-11-24T09:00:00+00:00"})
    old.close()

    store = Store.open(path)
    stored = [store.mention(n) for n in range(1, len(authors) + 1)]
    assert [(m.author_handle, m.author_name) for m in stored] == [
        ("", "Jean Dupont"), ("", ""), ("ann@mastodon.social", "Ann"), ("", "Bob"), ("carol", "Carol (at) home"),
    ]
    assert all(m.text.startswith("write to tram") and "@mairie.example" in m.text for m in stored)
    rows = sql(store).execute("select author_handle, author_name, author from mentions left join story_members"
                              " on story_members.mention_id = mentions.id").fetchall()
    assert not any("@example" in (value or "") for row in rows for value in row)
    assert rows[0][2] == "rss:jean dupont"
    store.close()


def test_keeping_reach_tiers_only_replaces_each_count_by_its_tier_floor_once(store: Store) -> None:
    reaches = [None, -4, 0, 950, 1000, 5432, 10_000, 2_000_000]
    store.record_poll("w", "C1", [mention(n, author_reach=reach) for n, reach in enumerate(reaches)], {}, now=NOW)
    assert store.keep_reach_tiers_only() == 4  # -4, 950, 5432 and 2,000,000; the floors and None stay
    stored = [store.mention(mention_id).author_reach for mention_id in range(1, len(reaches) + 1)]
    assert stored == [None, 0, 0, 0, 1000, 1000, 10_000, 10_000]
    assert store.keep_reach_tiers_only() == 0
