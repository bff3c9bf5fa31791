"""The purge and `forget` on a database file: what goes, what stays, what is counted, what is left in the bytes."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.seed import seed_mentions
from tests.support.sql import sql
from veilleur.core.keyed_hash import author_key, keyed_hash
from veilleur.core.mentions import Mention
from veilleur.core.settings import Settings, parse_settings
from veilleur.core.watcher_config import AuthorLabel
from veilleur.privacy.service import PrivacyService
from veilleur.storage.claims import ClaimRecords, NewClaim
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.privacy_key import KEY_FILE
from veilleur.storage.retention import ErasureRecords
from veilleur.storage.store import Store
from veilleur.storage.stories import StoryMember, StoryRecords

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=100)
CANARY_HANDLE, CANARY_NAME, CANARY_TEXT = "qzcanaryhandle", "Qzcanary Name", "qzcanarytext about the tramway"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "veilleur.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = Store.open(db_path)
    yield opened
    opened.close()


def settings_for(db_path: Path, **env: str) -> Settings:
    return parse_settings({"DATABASE_PATH": str(db_path), **env})


def service(store: Store, db_path: Path, **env: str) -> PrivacyService:
    return PrivacyService(store, settings_for(db_path, **env))


def post(n: int, handle: str, *, source: str = "mastodon", name: str = "", text: str = "le tram") -> Mention:
    return Mention(source=source, external_id=f"{handle}-{n}", url=f"https://m.example/@{handle}/{n}", text=text,
                   author_handle=handle, author_name=name, created_at=NOW - timedelta(hours=1))


def rows(store: Store, sql_text: str, *params: object) -> list[tuple]:
    return sql(store).execute(sql_text, params).fetchall()


def stored_bytes(db_path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


# ---- purge -------------------------------------------------------------------------------------------------


async def test_purge_erases_what_is_past_retention_keeps_the_rest_and_counts_what_it_erased(
    store: Store, db_path: Path
) -> None:
    old = seed_mentions(store, 40, first_seen=OLD, every=timedelta(hours=1))
    recent = seed_mentions(store, 10, first_seen=NOW - timedelta(days=5), every=timedelta(hours=1))
    escalated = old[3]
    EscalationStore(store).create(escalated, card_id=None, watcher="seeded", channel="C0ESC", thread_ts=None,
                                  officials=["U1"], user="U2", via="command", note=None, now=OLD,
                                  next_reminder_at=None)

    report = await service(store, db_path).purge()

    assert (report.mentions, report.cards, report.story_entries, report.kept_for_escalation) == (39, 39, 39, 1)
    assert report.slack_messages == 39  # every seeded card was posted
    assert [m for m in old + recent if store.has_mention(m)] == [escalated, *recent]
    erased_days = Counter((OLD + timedelta(hours=n)).date().isoformat() for n in range(40) if n != 3)
    assert rows(store, "select day, watcher, source, sum(mentions) from mention_counts group by 1, 2, 3") == [
        (day, "seeded", "mastodon", count) for day, count in sorted(erased_days.items())]
    assert rows(store, "PRAGMA foreign_key_check") == []
    (run,) = rows(store, "select kind, finished_at is not null, removed from erasures")
    assert run[:2] == ("purge", 1) and json.loads(run[2])["mentions"] == 39


async def test_a_second_purge_changes_nothing(store: Store, db_path: Path) -> None:
    seed_mentions(store, 20, first_seen=OLD)
    privacy = service(store, db_path)
    await privacy.purge()
    dump = list(sql(store).conn.iterdump())
    again = await privacy.purge()
    assert not again.held and again.slack_messages == 0
    assert list(sql(store).conn.iterdump()) == dump


async def test_a_dry_run_purge_counts_exactly_and_changes_nothing(store: Store, db_path: Path) -> None:
    old = seed_mentions(store, 30, first_seen=OLD)
    recent = seed_mentions(store, 5, first_seen=NOW - timedelta(days=1))
    for mention in (old[0], recent[0]):  # escalations finished past ESCALATION_RETENTION_DAYS, old and recent mention
        escalation = EscalationStore(store).create(mention, card_id=None, watcher="seeded", channel="C0ESC",
                                                   thread_ts=None, officials=["U1"], user="U2", via="command",
                                                   note=None, now=OLD, next_reminder_at=None)
        sql(store).execute("update escalations set state = 'closed', finished_at = ? where id = ?",
                           [OLD.isoformat(), escalation.id])
    store.record_poll_failure("seeded", "timeout", now=OLD)
    sql(store).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before, dump = stored_bytes(db_path), list(sql(store).conn.iterdump())
    privacy = service(store, db_path, ESCALATION_RETENTION_DAYS="30")

    dry = await privacy.purge(dry_run=True)

    assert list(sql(store).conn.iterdump()) == dump
    assert stored_bytes(db_path) == before
    assert not (db_path.parent / KEY_FILE).exists()
    real = await privacy.purge()
    assert dry.dry_run and (dry.mentions, dry.cards, dry.escalations, dry.poll_failures) == (30, 30, 2, 1)
    assert (real.mentions, real.cards, real.escalations, real.poll_failures) == (30, 30, 2, 1)
    assert dry.slack_messages == real.slack_messages == 30


async def test_purge_clears_old_digests_and_deletes_old_poll_failures_audit_entries_and_sent_removals(
    store: Store, db_path: Path
) -> None:
    old_digest = store.queue_notice("digest", "C0DIG", {"text": "top: ann says no"}, OLD)
    store.mark_posted(old_digest, "1.1", None)
    new_digest = store.queue_notice("digest", "C0DIG", {"text": "top: bob says yes"}, NOW)
    store.mark_posted(new_digest, "2.2", None)
    store.record_poll_failure("w", "HTTP 500", now=OLD)
    store.record_poll_failure("w", "HTTP 503", now=NOW)
    sql(store).execute("insert into audit_log (at, user_id, action) values (?, 'U1', 'summarize')",
                       [(NOW - timedelta(days=400)).isoformat()])
    store.queue_card_removals([("w", "C1", "1.1"), ("w", "C1", "2.2")], "redact", "retention", NOW)
    sql(store).execute("update deliveries set state = 'removed' where kind = 'removal' and target_ts = '1.1'")

    report = await service(store, db_path).purge()

    assert (report.notices, report.poll_failures, report.audit_entries) == (1, 1, 1)
    assert sql(store).execute("select target_ts from deliveries where kind = 'removal'").fetchall() == [("2.2",)]
    assert store.delivery(old_digest).message is None
    assert store.delivery(new_digest).message == {"text": "top: bob says yes"}
    assert rows(store, "select error from poll_failures") == [("HTTP 503",)]
    assert rows(store, "select count(*) from audit_log") == [(0,)]


async def test_a_purged_post_is_remembered_only_if_a_feed_could_bring_it_back(store: Store, db_path: Path) -> None:
    published_long_ago = Mention(source="rss", external_id="old", url="https://x/old", text="tram", created_at=OLD)
    store.record_poll("w", "C1", [post(1, "ann"), published_long_ago], {}, now=NOW - timedelta(days=3))
    await service(store, db_path).purge(older_than_days=2)
    assert rows(store, "select count(*) from erased_items") == [(1,)]  # the post from an hour ago, not the old one


async def test_the_purge_leaves_the_loop_free_between_its_transactions(store: Store, db_path: Path) -> None:
    seed_mentions(store, 4000, first_seen=OLD, every=timedelta(seconds=1))
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    privacy = service(store, db_path)
    started = time.perf_counter()
    report = await privacy.purge()
    took = time.perf_counter() - started
    done.set()
    await ticking
    assert report.mentions == 4000
    # Done in one transaction it would hold the loop for all of `took`; in steps, each about 30 ms.
    assert max(gaps) < max(0.15, took / 4), (max(gaps), took)
    assert privacy.longest_step < 0.15


# ---- forget ------------------------------------------------------------------------------------------------


async def test_forget_erases_an_author_on_every_source_or_on_one(store: Store, db_path: Path) -> None:
    store.record_poll("w", "C1", [post(1, "ann"), post(2, "Ann", source="bluesky"), post(3, "bob")], {},
                      now=NOW)
    privacy = service(store, db_path)

    on_bluesky = await privacy.forget("@ann", "bluesky", requested_by="cli")
    assert (on_bluesky.mentions, on_bluesky.cards) == (1, 0)  # a first poll's record is no card
    everywhere = await privacy.forget("ANN", requested_by="cli")
    assert everywhere.mentions == 1 and everywhere.suppressed and not everywhere.already_suppressed
    assert [handle for (handle,) in rows(store, "select author_handle from mentions")] == ["bob"]
    secret = (db_path.parent / KEY_FILE).read_text().strip().encode()
    suppressed = {key for (key,) in rows(store, "select key_hash from suppressions")}
    assert suppressed == {keyed_hash(secret, author_key("ann", "bluesky")), keyed_hash(secret, author_key("ann", None))}
    assert rows(store, "select author, author_hash is not null, source from erasures order by id") == [
        (None, 1, "bluesky"), (None, 1, None)]


async def test_forgetting_an_unknown_author_says_nothing_is_held_and_still_suppresses_them(
    store: Store, db_path: Path
) -> None:
    privacy = service(store, db_path)
    report = await privacy.forget("nobody@m.example", requested_by="U0ADMIN", reason="objection")
    assert not report.held and report.suppressed
    assert rows(store, "select reason from suppressions") == [("objection",)]
    dump = list(sql(store).conn.iterdump())
    again = await privacy.forget("nobody@m.example", requested_by="U0ADMIN")
    assert again.already_suppressed and not again.held
    assert list(sql(store).conn.iterdump()) == dump


async def test_a_dry_run_forget_changes_nothing_and_makes_no_key(store: Store, db_path: Path) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1, "ann"), post(2, "ann")], {}, now=NOW)
    store.mark_posted(outcome.cards[0][0], "10.1", None)
    sql(store).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before, dump = stored_bytes(db_path), list(sql(store).conn.iterdump())

    report = await service(store, db_path).forget("ann", requested_by="cli", dry_run=True)

    assert report.dry_run and (report.mentions, report.cards, report.slack_messages) == (2, 2, 1)
    assert list(sql(store).conn.iterdump()) == dump and stored_bytes(db_path) == before
    assert not (db_path.parent / KEY_FILE).exists()


async def test_forget_finds_the_labels_the_watchers_file_gives_the_author(store: Store, db_path: Path) -> None:
    labels = [AuthorLabel(("troll",), handle="@Ann"), AuthorLabel(("opposition",), name="ann", source="rss"),
              AuthorLabel(("journalist",), handle="ann", source="bluesky"), AuthorLabel(("elected",), handle="bob")]
    privacy = PrivacyService(store, settings_for(db_path), authors=lambda: labels)
    assert privacy.labels_of("ann", None) == tuple(labels[:3])
    assert privacy.labels_of("ann", "rss") == (labels[0], labels[1])
    report = await privacy.forget("ann", "rss", requested_by="cli", dry_run=True)
    assert report.labels == (labels[0], labels[1])


async def test_an_interrupted_forget_is_finished_by_the_next_resume(store: Store, db_path: Path) -> None:
    store.record_poll("w", "C1", [post(n, "ann") for n in range(5)] + [post(9, "bob")], {}, now=NOW)
    privacy = service(store, db_path)
    records = ErasureRecords(store)
    key_hash = keyed_hash(privacy.key.ensure(), author_key("ann", None))
    run_id = records.start_forget(author="ann", source=None, author_hash=key_hash, reason="erasure",
                                  requested_by="cli", now=NOW)
    first_two = [m for (m,) in rows(store, "select id from mentions where author_handle = 'ann' order by id limit 2")]
    records.erase_mentions(run_id, first_two, removal=None, remember=lambda *_: None, now=NOW)
    # ... and the process was killed here.

    (resumed,) = await service(store, db_path).resume()

    assert resumed.resumed and resumed.author == "ann" and resumed.mentions == 5
    assert rows(store, "select author_handle from mentions") == [("bob",)]
    assert rows(store, "select author, finished_at is not null from erasures") == [(None, 1)]
    assert await service(store, db_path).resume() == []


async def test_forget_clears_the_stored_digests_that_quoted_the_author(store: Store, db_path: Path) -> None:
    store.record_poll("w", "C1", [post(1, "ann", name="Ann Martin")], {}, now=NOW)
    quoting = store.queue_notice("digest", "C0DIG", {"blocks": [{"text": {"text": "Top: ANN MARTIN says no"}}]}, NOW)
    store.mark_posted(quoting, "5.5", None)
    other = store.queue_notice("digest", "C0DIG", {"text": "Top: bob"}, NOW)
    store.mark_posted(other, "6.6", None)

    report = await service(store, db_path).forget("ann", requested_by="cli")

    assert report.notices == 1
    assert store.delivery(quoting).message is None and store.delivery(other).message == {"text": "Top: bob"}


# ---- nothing left in the bytes ---------------------------------------------------------------------------------


def canary_world(store: Store, *, at: datetime) -> int:
    """A mention by the canary author among 300 others, copied wherever the bot copies one: its card (posted, with a
    stored message), its story place and keys, an escalation's note, and a digest that quoted it."""
    seed_mentions(store, 150, first_seen=at - timedelta(hours=2), every=timedelta(seconds=10))
    store.record_poll("w", "C1", [], {}, now=at - timedelta(days=1))
    canary = Mention(source="mastodon", external_id="canary-1", url=f"https://m.example/@{CANARY_HANDLE}/1",
                     text=CANARY_TEXT, author_handle=CANARY_HANDLE, author_name=CANARY_NAME, created_at=at)
    outcome = store.record_poll("w", "C1", [canary], {}, now=at)
    ((card, mention),) = outcome.cards
    store.mark_posted(card, "77.7", None)
    sql(store).execute("update deliveries set message = ? where id = ?",
                       [json.dumps({"text": f"{CANARY_NAME}: {CANARY_TEXT}"}), card])
    stories = StoryRecords(store)
    story = stories.start_story("C1", "w", card, at)
    stories.add_member(StoryMember(card, story, mention, "C1", f"mastodon:{CANARY_HANDLE}", 1, None, "first", at))
    stories.add_keys("C1", [f"l:m.example/@{CANARY_HANDLE}/1"], at, story, card)
    escalation = EscalationStore(store).create(mention, card_id=card, watcher="w", channel="C0ESC", thread_ts=None,
                                               officials=["U1"], user="U2", via="command",
                                               note=f"{CANARY_NAME} again", now=at, next_reminder_at=None)
    sql(store).execute("update escalations set state = 'closed', finished_at = ? where id = ?",
                       [at.isoformat(), escalation.id])
    digest = store.queue_notice("digest", "C0DIG", {"text": f"Top: {CANARY_NAME} ({CANARY_HANDLE})"}, at)
    store.mark_posted(digest, "88.8", None)
    seed_mentions(store, 150, first_seen=at + timedelta(seconds=1), every=timedelta(seconds=10))
    return mention


def assert_no_canary(db_path: Path) -> None:
    found = stored_bytes(db_path)
    assert [canary for canary in (CANARY_HANDLE, CANARY_NAME, "qzcanarytext") if canary.encode() in found] == []


def fill_canaries(store: Store, db_path: Path, at: datetime) -> None:
    canary_world(store, at=at)
    assert CANARY_HANDLE.encode() in stored_bytes(db_path)  # so that the check after can fail


async def test_forget_leaves_no_byte_of_the_author_in_the_database_or_its_log(store: Store, db_path: Path) -> None:
    fill_canaries(store, db_path, NOW)
    report = await service(store, db_path).forget(CANARY_HANDLE.upper(), requested_by="cli")
    assert report.mentions == 1 and report.notices == 1 and report.escalations == 1
    assert_no_canary(db_path)
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


async def test_purge_leaves_no_byte_of_a_purged_mention_in_the_database_or_its_log(
    store: Store, db_path: Path
) -> None:
    fill_canaries(store, db_path, OLD)
    report = await service(store, db_path, ESCALATION_RETENTION_DAYS="30").purge()
    assert report.mentions == 301
    assert_no_canary(db_path)


# ---- false claims ------------------------------------------------------------------------------------------


def claim_of(store: Store, mention_ids: list[int], *, at: datetime) -> int:
    claim = NewClaim("Le tram sera gratuit", ("tram gratuit",), None, None, None, "U0ANN", "C1")
    claim_id = ClaimRecords(store).create(claim, at)
    ClaimRecords(store).record_mentions([(claim_id, mention_id, None) for mention_id in mention_ids], at)
    return claim_id


async def test_forget_takes_the_authors_mentions_out_of_the_claims_they_repeated(store: Store, db_path: Path) -> None:
    store.record_poll("w", "C1", [post(1, "ann"), post(2, "bob")], {}, now=NOW)
    ann, bob = (mention_id for (mention_id,) in rows(store, "select id from mentions order by author_handle"))
    claim_id = claim_of(store, [ann, bob], at=NOW)

    report = await service(store, db_path).forget("ann", requested_by="cli")

    assert report.mentions == 1
    assert rows(store, "select claim_id, mention_id from claim_mentions") == [(claim_id, bob)]
    assert rows(store, "select count(*) from claims") == [(1,)]  # the team's claim stays
    assert rows(store, "PRAGMA foreign_key_check") == []


async def test_purge_deletes_claims_closed_past_escalation_retention_and_keeps_open_and_recent_ones(
    store: Store, db_path: Path
) -> None:
    store.record_poll("w", "C1", [post(1, "ann")], {}, now=NOW)
    (mention_id,) = (mention_id for (mention_id,) in rows(store, "select id from mentions"))
    long_closed, recently_closed, still_open = (claim_of(store, [mention_id], at=OLD) for _ in range(3))
    records = ClaimRecords(store)
    records.close(long_closed, "U0ANN", OLD)
    records.close(recently_closed, "U0ANN", NOW - timedelta(days=1))
    privacy = service(store, db_path, ESCALATION_RETENTION_DAYS="30")

    preview = await privacy.purge(dry_run=True)
    report = await privacy.purge()

    assert preview.claims == report.claims == 1
    assert [claim_id for (claim_id,) in rows(store, "select id from claims order by id")] == [recently_closed,
                                                                                             still_open]
    assert rows(store, "select claim_id from claim_mentions order by claim_id") == [(recently_closed,), (still_open,)]
    assert rows(store, "PRAGMA foreign_key_check") == []
