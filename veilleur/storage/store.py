"""SQLite persistence: mentions, what each watcher has seen, and the outbox of Slack messages.

One connection, owned by the asyncio loop's thread, makes every write. Every poll batch is one transaction, so a
crash leaves either the whole batch (mentions, deliveries and the watcher's new cursor) or none of it. Long reads
(the digest, a spike alert's content) run in a worker thread on a read-only connection of their own
(`Store.read`): WAL lets them read beside the loop's writes.

A *delivery* is a mention seen by one watcher. Its state tells where it stands:
`quiet` (recorded on a watcher's first poll, never posted), `pending` (in the outbox), `sending` (handed to
Slack, answer not yet recorded), `posted` (Slack `ts` known) or `failed` (Slack refused it for good).
A *rollup* is an outbox row without a mention: the parent message of a burst, whose thread holds the cards.
A *notice* is an outbox row carrying a ready-made message (a source health alert, for instance).
A *removal* is an outbox row that redacts or deletes a message the bot posted (retention, erasure): it ends
`removed`, `gone` (Slack had nothing left to remove) or `failed` (Slack refused; `last_error` says why). It is
never counted as a card or a notice.
An `overflow` card is a mention past a poll's card limit: stored and counted like a posted card (digest, spikes),
never posted itself; its poll's rollup names how many there were and shows the best few.
Within a channel the outbox posts by `priority` (see `Priority`), then in the order rows were queued.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import IntEnum
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database, Migrations

from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import (
    HANDLES_NEVER_ADDRESSES,
    REACH_TIERS,
    Mention,
    author_key,
    mention_score,
    without_email_addresses,
)
from veilleur.storage.wal_checkpoint import CHECKPOINT_EVERY, WalCheckpointer, checkpoint_once, truncate_log

migrations = Migrations("veilleur")
# The thread checkpoints every second; SQLite's own checkpoint (default 1,000 pages) only if the thread falls
# this far behind. The log file is truncated back to WAL_SIZE_LIMIT bytes when it restarts.
BACKSTOP_CHECKPOINT_PAGES = 20_000
WAL_SIZE_LIMIT = 64 * 1024 * 1024
MENTION_FIELDS = tuple(field.name for field in fields(Mention))
# A write waits this long for another program's lock (a backup, `bot.py once` beside the running bot) before the
# poll fails. It waits on the loop only LOOP_BUSY_MS at a time: `write_patiently` sleeps between attempts, so Slack
# acks and other polls go on while the database is busy.
DATABASE_BUSY_TIMEOUT = 5.0
LOOP_BUSY_MS = 40
LOW_DISK_BYTES = 1024 * 1024
T = TypeVar("T")
Params = ParamSpec("Params")


# Any failure of the database (sqlite3's base error), under storage's name: callers outside storage catch this and
# never import sqlite3 themselves.
DatabaseError = sqlite3.Error


class DatabaseUnavailable(Exception):
    """The database cannot take a write now (busy, read-only, full disk, failing disk); `phrase` says which and
    what to do (`str()` in English). Nothing was written: the caller's transaction was rolled back and can be tried
    again later."""

    def __init__(self, problem: str | Phrase) -> None:
        self.phrase = problem if isinstance(problem, Phrase) else technical(problem)
        super().__init__(str(self.phrase))


def database_phrase(error: DatabaseError, path: Path | str | None = None) -> Phrase:
    """What an operator should read for an SQLite error, naming the cause rather than SQLite's code."""
    return unavailable_phrase(error, path) or Phrase.of("db.error", where=_where(path), detail=str(error))


def database_problem(error: DatabaseError, path: Path | str | None = None) -> str:
    """`database_phrase` in English, for logs."""
    return str(database_phrase(error, path))


def unavailable_reason(error: sqlite3.Error, path: Path | str | None = None) -> str | None:
    """`unavailable_phrase` in English."""
    phrase = unavailable_phrase(error, path)
    return None if phrase is None else str(phrase)


def unavailable_phrase(error: sqlite3.Error, path: Path | str | None = None) -> Phrase | None:
    """Why the database cannot be written now (busy, read-only, full or failing disk), or None when the error is
    of another kind (not a database, a bug)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    where = _where(path)
    if _is_busy(error):
        return Phrase.of("db.busy", where=where, count=round(DATABASE_BUSY_TIMEOUT))
    if name.startswith("SQLITE_READONLY"):
        return Phrase.of("db.read_only", where=where)
    if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _disk_nearly_full(path)):
        return Phrase.of("db.full", where=where)
    if name.startswith("SQLITE_IOERR"):
        return Phrase.of("db.io", where=where)
    return None


def _where(path: Path | str | None) -> str:
    return f" ({path})" if path else ""


def _disk_nearly_full(path: Path | str | None) -> bool:
    """SQLite reports some writes on a full disk (a new -wal or -shm file) as a plain I/O error."""
    if path is None or str(path) == ":memory:":
        return False
    try:
        return shutil.disk_usage(Path(path).resolve().parent).free < LOW_DISK_BYTES
    except OSError:
        return False


def _is_busy(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(error)


async def write_patiently(
    write: Callable[[], T], *, patience: float = DATABASE_BUSY_TIMEOUT, path: Path | str | None = None
) -> T:
    """Run one write transaction, trying again while another program holds the lock, up to `patience` seconds.

    Any other SQLite error, or a lock held longer, becomes `DatabaseUnavailable` with a message for the operator.
    The transaction is all or nothing, so trying it again can neither lose nor double anything.
    """
    deadline = time.monotonic() + patience
    pause = 0.05
    while True:
        try:
            return write()
        except sqlite3.Error as error:
            if not _is_busy(error) or time.monotonic() + pause > deadline:
                raise DatabaseUnavailable(database_phrase(error, path)) from error
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)
# How many of a poll's mentions past its card limit the rollup shows (the best-scoring).
ROLLUP_SHOWN = 5
# What a removal row does to the bot's message, and why (the notice a redacted message shows).
REMOVAL_ACTIONS = ("redact", "delete")
REMOVAL_REASONS = ("retention", "author_request")


class Priority(IntEnum):
    """The order of a channel's outbox rows, lowest first; rows of one priority go in the order queued.

    A failing or recovered source first (silence must not pass for calm), then alerts (spikes, a possible
    campaign), then digests, then cards and their rollups, and last the removals of the bot's own messages that
    retention and erasure ask for (a redaction can wait; a new card should not wait behind ten thousand of them).
    Escalation messages do not queue at all: they are posted at once (escalation.py).
    """

    HEALTH = 0
    ALERT = 1
    DIGEST = 2
    CARD = 3
    REMOVAL = 4


@migrations()
def m001_initial(db: Database) -> None:
    db["mentions"].create(
        {
            "id": int,
            "source": str,
            "external_id": str,
            "url": str,
            "title": str,
            "text": str,
            "author_handle": str,
            "author_name": str,
            "author_reach": int,
            "created_at": str,
            "lang": str,
            "engagement": str,
            "conversation_id": str,
            "parent_id": str,
            "first_seen_at": str,
        },
        pk="id",
        not_null={"source", "external_id", "first_seen_at"},
    )
    db["mentions"].create_index(["source", "external_id"], unique=True)
    db["mentions"].create_index(["first_seen_at"])
    db["deliveries"].create(
        {
            "id": int,
            "kind": str,
            "watcher": str,
            "channel": str,
            "mention_id": int,
            "parent_id": int,
            "state": str,
            "attempts": int,
            "not_before": str,
            "slack_ts": str,
            "thread_ts": str,
            "rollup_count": int,
            "message": str,
            "created_at": str,
            "sent_at": str,
            "posted_at": str,
            "last_error": str,
            "dismissed_by": str,
            "dismissed_at": str,
        },
        pk="id",
        not_null={"kind", "watcher", "channel", "state", "created_at"},
        defaults={"attempts": 0},
        foreign_keys=[("mention_id", "mentions", "id"), ("parent_id", "deliveries", "id")],
    )
    db["deliveries"].create_index(["watcher", "mention_id"], unique=True)
    db["deliveries"].create_index(["state", "channel"])
    db["deliveries"].create_index(["channel", "slack_ts"])
    db["watcher_state"].create(
        {
            "name": str,
            "cursor": str,
            "first_polled_at": str,
            "last_polled_at": str,
            "last_success_at": str,
            "last_error": str,
            "last_error_at": str,
            "failing_since": str,
            "consecutive_failures": int,
        },
        pk="name",
        defaults={"consecutive_failures": 0},
    )


@migrations()
def m002_escalations(db: Database) -> None:
    """Escalations of mentions to officials, the people who raised them, and every transition (see escalation.py)."""
    db["escalations"].create(
        {
            "id": int,
            "mention_id": int,
            "card_id": int,
            "watcher": str,
            "state": str,
            "officials": str,
            "channel": str,
            "thread_ts": str,
            "message_ts": str,
            "permalink": str,
            "created_at": str,
            "acknowledged_at": str,
            "acknowledged_by": str,
            "answered_at": str,
            "answered_by": str,
            "answer": str,
            "finished_at": str,
            "finished_by": str,
            "reason": str,
            "reminders_sent": int,
            "next_reminder_at": str,
        },
        pk="id",
        not_null={"mention_id", "state", "officials", "created_at"},
        defaults={"reminders_sent": 0},
        foreign_keys=[("mention_id", "mentions", "id"), ("card_id", "deliveries", "id")],
    )
    # At most one escalation in progress per mention, however many people react at once.
    db.execute(
        "create unique index escalations_in_progress on escalations (mention_id)"
        " where state in ('open', 'acknowledged', 'answered')"
    )
    db["escalations"].create_index(["mention_id", "created_at"])
    db["escalations"].create_index(["state", "next_reminder_at"])
    db["escalators"].create(
        {"escalation_id": int, "user_id": str, "via": str, "note": str, "at": str},
        pk=("escalation_id", "user_id"),
        not_null={"via", "at"},
        foreign_keys=[("escalation_id", "escalations", "id")],
    )
    db["escalation_events"].create(
        {"id": int, "escalation_id": int, "action": str, "user_id": str, "at": str, "detail": str},
        pk="id",
        not_null={"escalation_id", "action", "at"},
        foreign_keys=[("escalation_id", "escalations", "id")],
    )
    db["escalation_events"].create_index(["escalation_id"])
    # `/flag <mention URL>` finds the mention by its link.
    db["mentions"].create_index(["url"])


@migrations()
def m003_llm_usage(db: Database) -> None:
    """Tokens spent per LLM request (see llm.py): what the daily budget counts, and an audit of use."""
    db["llm_usage"].create(
        {
            "id": int,
            "at": str,
            "day": str,
            "task": str,
            "model": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "total_tokens": int,
            "outcome": str,
            "seconds": float,
        },
        pk="id",
        not_null={"at", "day", "task", "outcome"},
        defaults={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    )
    db["llm_usage"].create_index(["day"])


@migrations()
def m006_poll_failures(db: Database) -> None:
    """Every failed poll (see Store.record_poll_failure): the digest's source health reads them by period."""
    db["poll_failures"].create(
        {"id": int, "watcher": str, "at": str, "error": str},
        pk="id",
        not_null={"watcher", "at"},
    )
    db["poll_failures"].create_index(["at"])
    # The digest counts the cards found in a period (and the week before): without it, each count reads them all.
    db["deliveries"].create_index(["created_at"])


@migrations()
def m005_digests(db: Database) -> None:
    """Digests put in the outbox (see digest_delivery.py): one scheduled digest per channel and period, ever."""
    db["digests"].create(
        {
            "id": int,
            "kind": str,
            "channel": str,
            "period_start": str,
            "period_end": str,
            "delivery_id": int,
            "created_at": str,
            "chart": bytes,
            "chart_state": str,
            "chart_file_id": str,
        },
        pk="id",
        not_null={"kind", "channel", "period_start", "period_end", "created_at", "chart_state"},
        foreign_keys=[("delivery_id", "deliveries", "id")],
    )
    db.execute(
        "create unique index digests_scheduled_once on digests (channel, period_end) where kind = 'scheduled'"
    )
    db["digests"].create_index(["chart_state"])


@migrations()
def m007_spikes(db: Database) -> None:
    """Spike alerts raised, so the cooldown survives a restart, and the times spikes are counted by (spikes.py)."""
    db["spikes"].create(
        {
            "id": int,
            "watcher": str,
            "channel": str,
            "at": str,
            "recent": int,
            "baseline": float,
            "baseline_days": int,
            "notice_id": int,
            "summary_by": str,
        },
        pk="id",
        not_null={"watcher", "channel", "at", "recent", "baseline", "baseline_days"},
        foreign_keys=[("notice_id", "deliveries", "id")],
    )
    db["spikes"].create_index(["watcher", "at"])
    # When each counted card's mention happened, so that an hour's count is an index range, not a scan of days.
    db["spike_times"].create(
        {"delivery_id": int, "watcher": str, "t": str}, pk="delivery_id", not_null={"watcher", "t"}
    )
    db["spike_times"].create_index(["watcher", "t"])
    # The last delivery id copied into spike_times.
    db["spike_progress"].create({"id": int, "last_delivery_id": int}, pk="id", not_null={"last_delivery_id"})


@migrations()
def m004_stories(db: Database) -> None:
    """Stories: the cards of one channel that tell the same story, grouped on the first one (see stories.py)."""
    db["stories"].create(
        {
            "id": int,
            "channel": str,
            "watcher": str,
            "first_card_id": int,
            "created_at": str,
            "campaign_at": str,
            "campaign_posts": int,
            "campaign_authors": int,
        },
        pk="id",
        not_null={"channel", "watcher", "first_card_id", "created_at"},
        foreign_keys=[("first_card_id", "deliveries", "id")],
    )
    db["stories"].create_index(["first_card_id"], unique=True)
    db["story_members"].create(
        {
            "card_id": int,
            "story_id": int,
            "mention_id": int,
            "channel": str,
            "author": str,
            "fingerprint": int,
            "link_key": str,
            "joined_by": str,
            "at": str,
        },
        pk="card_id",
        not_null={"story_id", "mention_id", "channel", "joined_by", "at"},
        foreign_keys=[("card_id", "deliveries", "id"), ("story_id", "stories", "id"), ("mention_id", "mentions", "id")],
    )
    db["story_members"].create_index(["story_id", "at"])
    # What a new card is looked up by: its canonical links and its fingerprint's bands, per channel and time.
    db["story_keys"].create(
        {"channel": str, "key": str, "at": str, "story_id": int, "card_id": int},
        not_null={"channel", "key", "at", "story_id", "card_id"},
        foreign_keys=[("story_id", "stories", "id"), ("card_id", "story_members", "card_id")],
    )
    db["story_keys"].create_index(["channel", "key", "at"])


@migrations()
def m008_watchers(db: Database) -> None:
    """Watchers made in Slack with /watch (see watcher_catalog.py), and which watchers of either kind are paused."""
    db["watchers"].create(
        {
            "name": str,
            "source": str,
            "fields": str,
            "created_by": str,
            "created_at": str,
            "updated_by": str,
            "updated_at": str,
        },
        pk="name",
        not_null={"source", "fields", "created_at", "updated_at"},
    )
    db["watcher_pauses"].create({"name": str, "paused_by": str, "paused_at": str}, pk="name", not_null={"paused_at"})


@migrations()
def m009_pipeline(db: Database) -> None:
    """Fewer index pages written by each poll (see Store.record_poll).

    Most deliveries have no Slack ts (quiet ones never, cards not yet): the (channel, slack_ts) index keeps only
    those that have one, which lookups by ts and by "slack_ts is not null" still use. No query reads mentions by
    first_seen_at: its index goes.
    """
    db.execute("drop index idx_deliveries_channel_slack_ts")
    db.execute("create index deliveries_with_slack_ts on deliveries (channel, slack_ts) where slack_ts is not null")
    db.execute("drop index idx_mentions_first_seen_at")


@migrations()
def m010_outbox_priority(db: Database) -> None:
    """Each channel drains on its own, in priority order (see outbox.py), and a poll's cards past
    MAX_CARDS_PER_POLL are counted on its rollup.

    The outbox reads a channel's next row from `deliveries_due` (pending rows only, in posting order), and the time
    of the next delayed row from `deliveries_delayed`: neither read costs more with a large backlog.
    """
    db.execute(f"alter table deliveries add column priority integer not null default {Priority.CARD.value}")
    db.execute("alter table deliveries add column rollup_more integer")
    db.execute("alter table deliveries add column rollup_top text")
    # Notices queued before: alerts (a health notice among them goes after a spike alert, before the cards).
    db.execute("update deliveries set priority = ? where kind = 'notice'", [Priority.ALERT.value])
    db.execute("create index deliveries_due on deliveries (channel, priority, id) where state = 'pending'")
    db.execute(
        "create index deliveries_delayed on deliveries (not_before)"
        " where state = 'pending' and not_before is not null"
    )


@migrations()
def m011_privacy(db: Database) -> None:
    """Retention, erasure by author, suppression and the audit log (see veilleur/privacy/).

    - `mention_counts`: what survives a purged mention, with no personal data: how many mentions per day (of
      collection, UTC), watcher, source and stance.
    - `suppressions`: authors who objected, as keyed hashes (HMAC-SHA-256) of "source:handle" (or "*:handle" for
      every source); a poll drops their posts before storing anything.
    - `erased_items`: keyed hashes of "source:external_id" of purged or erased mentions, so that the same post
      coming back in a feed is not taken for a new one.
    - `erasures`: one row per purge or `forget` run, so that one interrupted (kill -9) resumes on the next run;
      the author's handle is held only while the run is in progress.
    - `audit_log`: who did what and when (Slack user id, action, a subject that holds no content).
    - `deliveries.target_ts`: a `removal` row of the outbox edits (redacts) or deletes the bot's message at this
      ts in its channel.
    - indexes for erasure: a mention's cards, a message's thread replies, a card's story keys, the removal rows
      done with.
    """
    db["mention_counts"].create(
        {"day": str, "watcher": str, "source": str, "stance": str, "mentions": int},
        pk=("day", "watcher", "source", "stance"),
        not_null={"mentions"},
    )
    db["suppressions"].create(
        {"key_hash": str, "created_at": str, "reason": str}, pk="key_hash", not_null={"created_at", "reason"}
    )
    db["erased_items"].create({"key_hash": str, "at": str}, pk="key_hash", not_null={"at"})
    db["erasures"].create(
        {
            "id": int,
            "kind": str,
            "reason": str,
            "author": str,
            "author_hash": str,
            "source": str,
            "cutoff": str,
            "requested_by": str,
            "requested_at": str,
            "finished_at": str,
            "removed": str,
        },
        pk="id",
        not_null={"kind", "reason", "requested_at"},
    )
    db["erasures"].create_index(["finished_at"])
    db["audit_log"].create(
        {"id": int, "at": str, "user_id": str, "action": str, "subject": str},
        pk="id",
        not_null={"at", "action"},
    )
    db["audit_log"].create_index(["at"])
    db.execute("alter table deliveries add column target_ts text")
    # What erasure looks rows up by (storage/retention.py): a mention's cards, the replies in a message's thread, a
    # card's story keys. Each grows at its end as ids do, so a poll writes one more page of each at most. And the
    # removal rows the outbox is done with, which the purge deletes: only those rows are in it.
    db.execute("create index deliveries_by_mention on deliveries (mention_id) where mention_id is not null")
    db.execute("create index deliveries_in_thread on deliveries (parent_id) where parent_id is not null")
    db.execute("create index story_keys_by_card on story_keys (card_id)")
    db.execute(
        "create index deliveries_removed on deliveries (created_at) where kind = 'removal' and state in ('removed',"
        " 'gone', 'failed')"
    )


@migrations()
def m012_no_email_addresses(db: Database) -> None:
    """Authors lose the e-mail addresses that mentions stored before `Mention` stripped them (RSS authors such as
    "jean@example.fr (Jean Dupont)"), with the author keys of their story members.

    Only rows with an "@" or brackets (a spelled-out "[at]") are read, and only those that change are written.
    Messages already posted to Slack, and digests queued before, keep what they showed: the retention purge removes
    them.
    """
    may_hold = " or ".join(
        f"{column} like '{pattern}'"
        for column in ("author_handle", "author_name")
        for pattern in ("%@%", "%＠%", "%(%)%", "%[%]%", "%{%}%")
    )
    candidates = db.execute(f"select id, source, author_handle, author_name from mentions where {may_hold}").fetchall()
    for mention_id, source, handle, name in candidates:
        clean_name = without_email_addresses(name or "")
        clean_handle = handle or ""
        if source in HANDLES_NEVER_ADDRESSES:
            clean_handle = without_email_addresses(clean_handle)
        if (clean_handle, clean_name) == (handle or "", name or ""):
            continue
        db.execute(
            "update mentions set author_handle = ?, author_name = ? where id = ?",
            [clean_handle, clean_name, mention_id],
        )
        key = author_key(Mention(source, "", "", "", author_handle=clean_handle, author_name=clean_name))
        db.execute("update story_members set author = ? where mention_id = ?", [key, mention_id])


@migrations()
def m013_error_keys(db: Database) -> None:
    """A failed poll's error as a catalogue phrase too (JSON: key and parameters, see i18n.Phrase), beside its
    English text, so that Slack and the command line can say it in BOT_LANGUAGE. Rows from before have none and are
    shown in English."""
    db.execute("alter table watcher_state add column last_error_phrase text")
    db.execute("alter table poll_failures add column error_phrase text")

@migrations()
def m014_public_roles(db: Database) -> None:
    """The public roles a team imports (`bot.py authors import`): one row per author and source, `handle` as
    `normal_handle` gives it ("" for an author known by name only), so a re-import updates the row."""
    db.execute(
        "create table public_roles (source text not null, handle text not null, name text not null, role text not"
        " null, imported_at text not null)"
    )
    db.execute("create unique index public_roles_by_author on public_roles (source, handle, lower(name))")


@migrations()
def m015_labels(db: Database) -> None:
    """What a mention says, as labelled (issue 16): the model's stance toward what its watcher follows and whether
    the post is hostile, and the team's correction of the stance, which always wins over the model's.

    - `stance_model`: for, against, question or neutral, as the LLM answered; NULL when no model labelled it (the
      word list's estimate is computed when needed, never stored, so that a better word list applies at once).
    - `hostile_model`: 1 when the LLM found the post insulting or harassing, 0 when not, NULL when not asked.
    - `labelled_at`: when the LLM was asked about this mention (answered or skipped it): a mention is asked once.
    - `stance_team`, `stance_team_by` (a Slack user id), `stance_team_at`: the team's correction from the card.
    """
    for column, kind in (
        ("stance_model", "text"),
        ("hostile_model", "integer"),
        ("labelled_at", "text"),
        ("stance_team", "text"),
        ("stance_team_by", "text"),
        ("stance_team_at", "text"),
    ):
        db.execute(f"alter table mentions add column {column} {kind}")
    # The labelling job's queue (mentions not yet asked) and the team's latest corrections: both stay small.
    db.execute("create index mentions_unlabelled on mentions (id) where labelled_at is null")
    db.execute("create index mentions_corrected on mentions (stance_team_at) where stance_team is not null")


@migrations()
def m016_labelling_since(db: Database) -> None:
    """Where the LLM's labelling starts (assist/labelling.py): the first mention id it asks about, set on its first
    run to the mentions of the day before, so that an upgrade does not send every mention ever stored to the model.
    One row at most."""
    db.execute(
        "create table labelling_since (id integer primary key check (id = 1), first_mention_id integer not null,"
        " started_at text not null)"
    )


@migrations()
def m017_claims(db: Database) -> None:
    """False claims the team follows (issue 16, see watching/claims.py).

    - `claims`: the claim as the team wrote it, the key phrases that find it (one per line), the SimHash of its text
      (signed, as SQLite stores 64 bits; NULL for a text too short), the official correction (text and link) and
      when it was published, open or closed, who marked and closed it; `message_id` is its message's outbox row
      (the Slack ts is there once posted) and `channel` where it goes; `accelerated_at`: its latest thread reply
      saying it spreads faster.
    - `claim_mentions`: the mentions found to repeat it, when they were matched and their reach level then (low,
      medium, high: core/reach.py), so that a claim's reach is counted without reading its mentions.
    """
    db.execute(
        "create table claims (id integer primary key, text text not null, phrases text not null, fingerprint"
        " integer, correction_text text, correction_url text, correction_published_at text, state text not null"
        " default 'open', created_by text not null, created_at text not null, closed_by text, closed_at text,"
        " channel text not null, message_id integer references deliveries(id), accelerated_at text)"
    )
    db.execute("create index claims_open on claims (id) where state = 'open'")
    db.execute(
        "create table claim_mentions (claim_id integer not null references claims(id), mention_id integer not null"
        " references mentions(id), matched_at text not null, level text, primary key (claim_id, mention_id))"
        " without rowid"
    )
    # Erasure and retention take a mention's rows by mention.
    db.execute("create index claim_mentions_by_mention on claim_mentions (mention_id)")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    kind: str
    watcher: str
    channel: str
    mention_id: int | None
    parent_id: int | None
    state: str
    attempts: int
    not_before: str | None
    slack_ts: str | None
    thread_ts: str | None
    rollup_count: int | None
    sent_at: str | None
    message: dict[str, Any] | None = None
    priority: int = Priority.CARD
    # A rollup's mentions past the poll's card limit: how many, and the ids of the best few (best first).
    rollup_more: int | None = None
    rollup_top: tuple[int, ...] = ()
    # A `removal` row: the ts of the bot's message it redacts or deletes (see Store.queue_card_removal).
    target_ts: str | None = None


@dataclass(frozen=True, slots=True)
class Dismissal:
    by: str  # a Slack user id
    at: datetime


@dataclass(frozen=True, slots=True)
class WatcherStatus:
    name: str
    cursor: dict[str, Any]
    first_polled_at: str | None
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None
    failing_since: str | None
    consecutive_failures: int
    last_error_phrase: Phrase | None = None

    @property
    def problem(self) -> Phrase:
        """The last error, to say in any language (in English when it was stored without its phrase)."""
        return self.last_error_phrase or technical(self.last_error or "")


@dataclass(frozen=True, slots=True)
class PollFailure:
    watcher: str
    at: datetime
    error: str
    phrase: Phrase | None = None

    @property
    def problem(self) -> Phrase:
        return self.phrase or technical(self.error)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    new_mentions: int
    queued: int
    quiet: int
    rollup_id: int | None
    # The cards this poll put in the outbox, oldest first, as (delivery id, mention id) pairs.
    cards: tuple[tuple[int, int], ...] = ()
    # New mentions past the poll's card limit: stored as `overflow` cards, not posted.
    overflow: int = 0


class Store:
    def __init__(
        self, db: Database, checkpointer: WalCheckpointer | None = None, path: Path | str | None = None
    ) -> None:
        self._db = db
        self.checkpointer = checkpointer
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, checkpoint_every: float = CHECKPOINT_EVERY) -> Store:
        """Open (creating if needed) the database and bring its schema up to date.

        A file database gets its WAL checkpoints from a thread (wal_checkpoint.py); SQLite's own, inside a commit,
        only steps in as a backstop when the log passes BACKSTOP_CHECKPOINT_PAGES.
        """
        in_memory = str(path) == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Opening and migrating may wait the whole busy timeout: nothing else runs yet.
        db = Database(sqlite3.connect(str(path), isolation_level=None, timeout=DATABASE_BUSY_TIMEOUT))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten with zeros, not left in free pages (retention, erasure): a per-connection
        # setting, so every connection sets it.
        db.execute("PRAGMA secure_delete=ON")
        migrations.apply(db)
        db.execute(f"PRAGMA busy_timeout={LOOP_BUSY_MS}")
        if in_memory:
            return cls(db)
        db.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
        db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        checkpointer = WalCheckpointer(path, every=checkpoint_every)
        checkpointer.start()
        return cls(db, checkpointer, path)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes, of this store and of its repositories, as one transaction: all or none of them (inside
        another transaction, a savepoint)."""
        with self._db.atomic():
            yield

    async def write_patiently(self, write: Callable[[], T], *, patience: float = DATABASE_BUSY_TIMEOUT) -> T:
        """`write_patiently` for this database: its errors name the file."""
        return await write_patiently(write, patience=patience, path=self.path)

    async def read(
        self, work: Callable[Concatenate[Store, Params], T], *args: Params.args, **kwargs: Params.kwargs
    ) -> T:
        """`work(reader, *args, **kwargs)` in a worker thread, `reader` being a Store on a read-only connection of
        its own, so the loop serves Slack while a long read runs. An in-memory database cannot be opened twice:
        there `work` gets this store and runs on the loop."""
        if self.path is None:
            return work(self, *args, **kwargs)
        return await asyncio.to_thread(self._read_in_thread, work, *args, **kwargs)

    def _read_in_thread(
        self, work: Callable[Concatenate[Store, Params], T], *args: Params.args, **kwargs: Params.kwargs
    ) -> T:
        reader = self.reader()
        try:
            return work(reader, *args, **kwargs)
        finally:
            reader.close()

    async def catch_up_wal(self) -> None:
        """Copy the write-ahead log into the database now, in a worker thread, and return when done. A long run of
        large writes (an erasure) waits for it between two transactions: the next one then starts the log over,
        instead of growing it past WAL_SIZE_LIMIT, which stalls a commit while the file grows."""
        if self.path is not None:
            await asyncio.to_thread(checkpoint_once, self.path)

    async def truncate_wal(self) -> bool:
        """Empty the `-wal` file into the database (after an erasure), in a worker thread: the loop is not held.
        False when readers kept it from finishing (a later checkpoint empties it)."""
        if self.path is None:
            return True
        return await asyncio.to_thread(truncate_log, self.path)

    def reader(self) -> Store:
        """A read-only Store on a new connection, for the calling thread only (sqlite3 connections are not shared
        across threads); close it when done. Only for a file database."""
        assert self.path is not None, "an in-memory database has no second connection"
        uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=DATABASE_BUSY_TIMEOUT)
        return Store(Database(connection), path=self.path)

    @classmethod
    def open_copy(cls, path: Path | str) -> Store:
        """A private in-memory copy of the database at `path`, brought up to date there, for dry runs: the file is
        only read (never created, migrated or written); without a file, an empty database."""
        memory = Database(sqlite3.connect(":memory:", isolation_level=None))
        if Path(path).is_file():
            # Read-only still makes the -wal and -shm files of a WAL database when they are not there (no program
            # has it open): then nothing can be writing it either, and `immutable` reads the file alone.
            idle = not Path(f"{path}-wal").exists()
            uri = f"{Path(path).resolve().as_uri()}?mode=ro" + ("&immutable=1" if idle else "")
            source = sqlite3.connect(uri, uri=True, timeout=DATABASE_BUSY_TIMEOUT)
            try:
                source.backup(memory.conn)
            finally:
                source.close()
        memory.execute("PRAGMA foreign_keys=ON")
        migrations.apply(memory)
        return cls(memory)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self._db.close()

    # Watchers -----------------------------------------------------------------------------------------

    def watcher_names(self) -> list[str]:
        return [row["name"] for row in self._db.query("select name from watcher_state order by name")]

    def watchers_with_cards(self) -> set[str]:
        """The watchers that ever made a card (notices, such as health alerts and digests, are outbox rows too,
        under pseudo-watcher names: only cards are watchers')."""
        rows = self._db.execute("select distinct watcher from deliveries where kind = 'card'")
        return {watcher for (watcher,) in rows}

    def watcher_status(self, name: str) -> WatcherStatus:
        row = self._watcher_row(name)
        return WatcherStatus(
            name=name,
            cursor=json.loads(row["cursor"]) if row and row["cursor"] else {},
            first_polled_at=row["first_polled_at"] if row else None,
            last_success_at=row["last_success_at"] if row else None,
            last_error=row["last_error"] if row else None,
            last_error_at=row["last_error_at"] if row else None,
            failing_since=row["failing_since"] if row else None,
            consecutive_failures=row["consecutive_failures"] if row else 0,
            last_error_phrase=Phrase.from_json(row["last_error_phrase"]) if row else None,
        )

    def record_poll_failure(
        self, name: str, error: str | Phrase, now: datetime | None = None, *, unrecorded: int = 0
    ) -> WatcherStatus:
        """Count a failed poll, plus `unrecorded` earlier ones the database could not take when they happened.

        The error is kept in English and, when it is a phrase, as one too (to be said in BOT_LANGUAGE)."""
        phrase = error if isinstance(error, Phrase) else technical(error)
        text, stored_phrase = str(phrase), phrase.to_json()
        moment = iso(now or utcnow())
        row = self._watcher_row(name)
        failures = (row["consecutive_failures"] if row else 0) + 1 + unrecorded
        with self._db.atomic():
            self._db["watcher_state"].upsert(
                {
                    "name": name,
                    "last_polled_at": moment,
                    "last_error": text,
                    "last_error_phrase": stored_phrase,
                    "last_error_at": moment,
                    "failing_since": (row or {}).get("failing_since") if failures > 1 else moment,
                    "consecutive_failures": failures,
                },
                pk="name",
            )
            self._db["poll_failures"].insert(
                {"watcher": name, "at": moment, "error": text, "error_phrase": stored_phrase}
            )
        return self.watcher_status(name)

    def poll_failures(self, start: datetime, end: datetime) -> list[PollFailure]:
        """The polls that failed in [start, end), oldest first."""
        return [
            PollFailure(row["watcher"], datetime.fromisoformat(row["at"]), row["error"] or "",
                        Phrase.from_json(row["error_phrase"]))
            for row in self._db.query(
                "select watcher, at, error, error_phrase from poll_failures where at >= ? and at < ? order by at, id",
                [iso(start), iso(end)],
            )
        ]

    def record_poll(
        self,
        watcher: str,
        channel: str,
        mentions: Sequence[Mention],
        cursor: dict[str, Any],
        *,
        backfill: int = 0,
        burst_threshold: int = 5,
        max_cards: int | None = None,
        now: datetime | None = None,
        admit: Callable[[Sequence[Mention], datetime], list[Mention]] | None = None,
    ) -> PollOutcome:
        """Store one successful poll in a single transaction.

        `admit` (a `CollectionGate`'s) first drops what must not be stored: posts older than the retention period,
        erased ones, and those of authors who objected. It reads inside the same transaction, so a suppression
        committed meanwhile by another process cannot slip between its check and the insert.

        Mentions this watcher has already seen (same source and id, whatever their date) are ignored. On the
        watcher's first poll, everything but the `backfill` newest is recorded quietly. Past `max_cards` new
        cards, the best-scoring `max_cards` are queued and the others stored as `overflow`. When more than
        `burst_threshold` cards would reach the channel at once, or some overflowed, the cards are queued as
        replies to one rollup, which counts the overflow and names its best few.
        """
        moment = now or utcnow()
        stamp = iso(moment)
        with self._db.atomic():
            if admit is not None:
                mentions = admit(mentions, moment)
            previous = self._db.conn.execute("select first_polled_at from watcher_state where name = ?", [watcher])
            first_run = (previous.fetchone() or (None,))[0] is None
            mention_ids, inserted = self._upsert_mentions(mentions, stamp)
            # A mention inserted just now has been seen by no watcher yet.
            seen = self._seen_by(watcher, [mid for mid in mention_ids if mid not in inserted])
            unique = {mid: m for mid, m in zip(mention_ids, mentions, strict=True) if mid not in seen}
            # Oldest first, so the channel reads in order; undated ties keep feed order, which is newest first.
            order = {mid: position for position, mid in enumerate(unique)}
            fresh = sorted(unique.items(), key=lambda pair: (pair[1].created_at or moment, -order[pair[0]]))
            split = max(len(fresh) - backfill, 0) if first_run else 0
            quiet, to_post = fresh[:split], fresh[split:]
            to_post, overflow = _within_limit(to_post, max_cards)
            rollup_id = None
            if len(to_post) > burst_threshold or overflow:
                rollup_id = self._insert_delivery(
                    "rollup", watcher, channel, None, "pending", stamp, rollup_count=len(to_post),
                    rollup_more=len(overflow) or None,
                    rollup_top=json.dumps([mid for mid, _ in overflow[:ROLLUP_SHOWN]]) if overflow else None,
                )
            card_ids = self._insert_cards(
                [(watcher, channel, mid, rollup_id, "pending", stamp) for mid, _ in to_post]
                + [(watcher, channel, mid, None, "overflow", stamp) for mid, _ in overflow]
                + [(watcher, channel, mid, None, "quiet", stamp) for mid, _ in quiet]
            )
            cards = tuple((card_ids[mid], mid) for mid, _ in to_post)
            self._db.execute(
                """
                insert into watcher_state (name, cursor, first_polled_at, last_polled_at, last_success_at,
                                           failing_since, consecutive_failures)
                values (?, ?, ?, ?, ?, null, 0)
                on conflict (name) do update set
                    cursor = excluded.cursor,
                    first_polled_at = coalesce(watcher_state.first_polled_at, excluded.first_polled_at),
                    last_polled_at = excluded.last_polled_at,
                    last_success_at = excluded.last_success_at,
                    failing_since = null,
                    consecutive_failures = 0
                """,
                [watcher, json.dumps(cursor), stamp, stamp, stamp],
            )
        return PollOutcome(
            new_mentions=len(fresh),
            queued=len(to_post),
            quiet=len(quiet),
            rollup_id=rollup_id,
            cards=cards,
            overflow=len(overflow),
        )

    def queue_notice(
        self,
        watcher: str,
        channel: str,
        message: dict[str, Any],
        now: datetime | None = None,
        *,
        reply_to: int | None = None,
        not_before: datetime | None = None,
        priority: Priority = Priority.ALERT,
    ) -> int:
        """Put a ready-made message in the outbox (it is posted like a card: paced, retried, once).

        With `reply_to` (a delivery id), it waits for that message and goes in its thread. With `not_before`, it
        waits until then, unless `fill_notice` gives it its final text sooner. It goes before the channel's rows
        of a later `priority` (see `Priority`).
        """
        with self._db.atomic():
            table = self._db["deliveries"]
            table.insert(
                {
                    "kind": "notice",
                    "watcher": watcher,
                    "channel": channel,
                    "parent_id": reply_to,
                    "state": "pending",
                    "attempts": 0,
                    "not_before": iso(not_before) if not_before is not None else None,
                    "priority": priority.value,
                    "message": json.dumps(message),
                    "created_at": iso(now or utcnow()),
                }
            )
            return table.last_pk

    def queue_card_removal(
        self,
        watcher: str,
        channel: str,
        target_ts: str,
        action: str,
        reason: str,
        now: datetime | None = None,
        *,
        days: int | None = None,
    ) -> int:
        """Put in the outbox the removal of the bot's own message at `target_ts` in `channel`: `action` is
        "redact" (edit it to a short notice saying `reason`: "retention" or "author_request") or "delete".
        `days`: the retention period that ended, for the notice to name it.

        It goes after every other row of the channel (Priority.REMOVAL), paced and retried like a card, and
        survives a restart. The row holds no content of the message it removes.
        """
        request = _removal_request(action, reason, days)
        with self._db.atomic():
            table = self._db["deliveries"]
            table.insert(
                {
                    "kind": "removal",
                    "watcher": watcher,
                    "channel": channel,
                    "state": "pending",
                    "attempts": 0,
                    "priority": Priority.REMOVAL.value,
                    "target_ts": target_ts,
                    "message": request,
                    "created_at": iso(now or utcnow()),
                }
            )
            return table.last_pk

    def queue_card_removals(
        self,
        targets: Sequence[tuple[str, str, str]],
        action: str,
        reason: str,
        now: datetime | None = None,
        *,
        days: int | None = None,
    ) -> None:
        """`queue_card_removal` for many messages at once, given as (watcher, channel, ts): the same rows, in one
        statement (erasure queues thousands, where one insert at a time would hold the loop)."""
        message = _removal_request(action, reason, days)
        stamp = iso(now or utcnow())
        with self._db.atomic():
            self._db.conn.executemany(
                "insert into deliveries (kind, watcher, channel, state, attempts, priority, target_ts, message,"
                " created_at) values ('removal', ?, ?, 'pending', 0, ?, ?, ?, ?)",
                [(watcher, channel, Priority.REMOVAL.value, ts, message, stamp) for watcher, channel, ts in targets],
            )

    def fill_notice(self, delivery_id: int, message: dict[str, Any]) -> bool:
        """Replace a queued notice's message and let it go now; False when it has already left."""
        with self._db.atomic():
            cursor = self._db.execute(
                "update deliveries set message = ?, not_before = null where id = ? and state = 'pending'",
                [json.dumps(message), delivery_id],
            )
            return cursor.rowcount > 0

    def _watcher_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self._db.query("select * from watcher_state where name = ?", [name]))
        return rows[0] if rows else None

    def _upsert_mentions(self, mentions: Sequence[Mention], stamp: str) -> tuple[list[int], set[int]]:
        """Insert new mentions, keep existing ones untouched; return every mention's row id in order, and the
        ids of those inserted now.

        Existing ids are read first, so only the new mentions are written (with the first copy of a mention
        the batch holds twice), and their ids come back from the insert itself.
        """
        if not mentions:
            return [], set()
        keys = [(m.source, m.external_id) for m in mentions]
        ids: dict[tuple[str, str], int] = {}
        by_source: dict[str, list[str]] = {}
        for source, external_id in dict.fromkeys(keys):
            by_source.setdefault(source, []).append(external_id)
        for source, external_ids in by_source.items():
            for chunk in _chunks(external_ids, 500):
                placeholders = ",".join("?" * len(chunk))
                cursor = self._db.conn.execute(
                    f"select id, external_id from mentions where source = ? and external_id in ({placeholders})",
                    [source, *chunk],
                )
                ids.update(((source, external_id), mention_id) for mention_id, external_id in cursor)
        new: dict[tuple[str, str], Mention] = {}
        for key, mention in zip(keys, mentions, strict=True):
            if key not in ids:
                new.setdefault(key, mention)
        inserted: set[int] = set()
        columns = (*MENTION_FIELDS, "first_seen_at")
        row = f"({','.join('?' * len(columns))})"
        # Multi-row inserts: one statement per 500 mentions, well under SQLite's 32,766 parameters.
        for chunk in _chunks(list(new.values()), 500):
            cursor = self._db.conn.execute(
                f"insert into mentions ({', '.join(columns)}) values {', '.join([row] * len(chunk))}"
                " returning id, source, external_id",
                list(chain.from_iterable(_mention_values(mention, stamp) for mention in chunk)),
            )
            for mention_id, source, external_id in cursor:
                ids[source, external_id] = mention_id
                inserted.add(mention_id)
        return [ids[key] for key in keys], inserted

    def _insert_cards(self, rows: list[tuple[str, str, int, int | None, str, str]]) -> dict[int, int]:
        """Insert card deliveries (watcher, channel, mention id, parent id, state, stamp); return the delivery id of
        each mention id. Multi-row inserts that return their ids, as in _upsert_mentions."""
        ids: dict[int, int] = {}
        row = "('card', ?, ?, ?, ?, ?, 0, ?)"
        for chunk in _chunks(rows, 500):
            cursor = self._db.conn.execute(
                "insert into deliveries (kind, watcher, channel, mention_id, parent_id, state, attempts, created_at)"
                f" values {', '.join([row] * len(chunk))} returning mention_id, id",
                list(chain.from_iterable(chunk)),
            )
            ids.update(cursor)
        return ids

    def _seen_by(self, watcher: str, mention_ids: Sequence[int]) -> set[int]:
        seen: set[int] = set()
        for chunk in _chunks(list(set(mention_ids)), 500):
            placeholders = ",".join("?" * len(chunk))
            seen.update(
                mention_id
                for (mention_id,) in self._db.conn.execute(
                    f"select mention_id from deliveries where watcher = ? and mention_id in ({placeholders})",
                    [watcher, *chunk],
                )
            )
        return seen

    def _insert_delivery(
        self,
        kind: str,
        watcher: str,
        channel: str,
        mention_id: int | None,
        state: str,
        stamp: str,
        *,
        parent_id: int | None = None,
        rollup_count: int | None = None,
        rollup_more: int | None = None,
        rollup_top: str | None = None,
    ) -> int:
        table = self._db["deliveries"]
        table.insert(
            {
                "kind": kind,
                "watcher": watcher,
                "channel": channel,
                "mention_id": mention_id,
                "parent_id": parent_id,
                "state": state,
                "attempts": 0,
                "rollup_count": rollup_count,
                "rollup_more": rollup_more,
                "rollup_top": rollup_top,
                "created_at": stamp,
            }
        )
        return table.last_pk

    # Mentions -----------------------------------------------------------------------------------------

    def mention(self, mention_id: int) -> Mention:
        row = next(self._db.query("select * from mentions where id = ?", [mention_id]))
        return mention_from_row(row)

    def has_mention(self, mention_id: int) -> bool:
        return self._db.execute("select 1 from mentions where id = ?", [mention_id]).fetchone() is not None

    def keep_reach_tiers_only(self) -> int:
        """Replace each stored follower count by its tier's lowest count (`tier_floor`), as PRIVACY_PROFILE=public-body
        stores them: the counts stored before the profile was set. Returns how many changed (0 once done)."""
        floors = [floor for floor, _ in REACH_TIERS]
        tiers = " ".join(f"when author_reach >= {floor} then {floor}" for floor in floors)
        with self._db.atomic():
            cursor = self._db.execute(
                f"update mentions set author_reach = case {tiers} else 0 end"
                f" where author_reach is not null and author_reach not in ({', '.join(map(str, floors))})"
            )
        return cursor.rowcount

    def mention_ids_at_url(self, url: str) -> list[int]:
        """The stored mentions at `url`, oldest first. A trailing slash does not matter: people paste links with
        or without one, and a source may store either."""
        variants = list(dict.fromkeys([url, url.rstrip("/"), url.rstrip("/") + "/"]))
        placeholders = ", ".join("?" for _ in variants)
        rows = self._db.execute(f"select id from mentions where url in ({placeholders}) order by id", variants)
        return [mention_id for (mention_id,) in rows]

    def watcher_of(self, mention_id: int) -> str | None:
        """The watcher that found the mention: the first one when several did (a later watcher seeing it again
        does not change where it came from), None when no watcher recorded it."""
        row = self._db.execute(
            "select watcher from deliveries where mention_id = ? order by id limit 1", [mention_id]
        ).fetchone()
        return row[0] if row else None

    def count_mentions(self) -> int:
        return self._db["mentions"].count

    def delivery_counts(self, watcher: str) -> dict[str, int]:
        """How many of a watcher's cards are in each state (quiet, pending, posted...)."""
        return {
            row["state"]: row["n"]
            for row in self._db.query(
                "select state, count(*) as n from deliveries where watcher = ? and kind = 'card' group by state",
                [watcher],
            )
        }

    # Outbox -------------------------------------------------------------------------------------------

    def due_deliveries(
        self, now: datetime | None = None, *, channel: str | None = None, limit: int | None = None
    ) -> list[Delivery]:
        """Pending outbox rows ready to post, by priority then oldest first; a reply waits until its rollup has a
        `ts`. The outbox reads one channel's next `limit` rows (an index range: the backlog does not matter);
        without `channel`, every channel's."""
        in_channel = "and d.channel = :channel" if channel is not None else ""
        rows = self._db.query(
            f"""
            select d.*, p.slack_ts as parent_ts from deliveries d
            left join deliveries p on p.id = d.parent_id
            where d.state = 'pending' {in_channel} and (d.not_before is null or d.not_before <= :now)
              and (d.parent_id is null or p.slack_ts is not null or p.state = 'failed')
            order by d.priority, d.id
            {"limit :limit" if limit is not None else ""}
            """,
            {"channel": channel, "now": iso(now or utcnow()), "limit": limit},
        )
        return [_delivery(row) for row in rows]

    def channels_with_work(self) -> list[str]:
        """The channels with rows pending or in flight: one index seek per channel, whatever the backlog."""
        found: set[str] = set()
        for state in ("pending", "sending"):
            found.update(
                channel
                for (channel,) in self._db.execute(
                    """
                    with recursive channels(channel) as (
                        select min(channel) from deliveries where state = ?
                        union all
                        select (select min(channel) from deliveries where state = ? and channel > channels.channel)
                        from channels where channel is not null
                    )
                    select channel from channels where channel is not null
                    """,
                    [state, state],
                )
            )
        return sorted(found)

    def next_due_time(self, now: datetime | None = None) -> datetime | None:
        """When the next pending row held until later (a retry, a rate limit, a notice being written) is due."""
        row = self._db.execute(
            "select min(not_before) from deliveries where state = 'pending' and not_before is not null"
            " and not_before > ?",
            [iso(now or utcnow())],
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row[0] is not None else None

    def outbox_backlog(self, at_most: int) -> int:
        """Rows waiting to be posted or in flight, counted up to `at_most` (a probe asks often: never a long scan)."""
        row = self._db.execute(
            "select count(*) from (select 1 from deliveries where state in ('pending', 'sending') limit ?)",
            [at_most],
        ).fetchone()
        return int(row[0])

    def poll_overview(self) -> tuple[str | None, list[str]]:
        """When the latest poll of any watcher ended, and the watchers failing now (their last poll failed)."""
        last = self._db.execute("select max(last_polled_at) from watcher_state").fetchone()[0]
        failing = [
            name
            for (name,) in self._db.execute(
                "select name from watcher_state where consecutive_failures > 0 order by name"
            )
        ]
        return last, failing

    def pending_count(self) -> int:
        return next(self._db.query("select count(*) as n from deliveries where state in ('pending', 'sending')"))["n"]

    def pending_removals(self) -> int:
        """How many of the outbox's rows still to send are removals (the rest are cards and notices)."""
        (count,) = self._db.execute(
            "select count(*) from deliveries where state in ('pending', 'sending') and kind = 'removal'"
        ).fetchone()
        return count

    def delivery(self, delivery_id: int) -> Delivery:
        row = next(
            self._db.query(
                "select d.*, p.slack_ts as parent_ts from deliveries d "
                "left join deliveries p on p.id = d.parent_id where d.id = ?",
                [delivery_id],
            )
        )
        return _delivery(row)

    def in_flight(self, channel: str | None = None) -> list[Delivery]:
        """Rows handed to Slack whose answer was not recorded (all channels', or one's)."""
        rows = self._db.query(
            "select d.*, p.slack_ts as parent_ts from deliveries d "
            "left join deliveries p on p.id = d.parent_id where d.state = 'sending'"
            + (" and d.channel = ?" if channel is not None else "")
            + " order by d.id",
            [channel] if channel is not None else [],
        )
        return [_delivery(row) for row in rows]

    def mark_sending(self, delivery_id: int, now: datetime | None = None) -> None:
        self._update(delivery_id, state="sending", sent_at=iso(now or utcnow()))

    def mark_posted(self, delivery_id: int, slack_ts: str, thread_ts: str | None, now: datetime | None = None) -> None:
        self._update(delivery_id, state="posted", slack_ts=slack_ts, thread_ts=thread_ts,
                     posted_at=iso(now or utcnow()), last_error=None)

    def mark_removed(self, delivery_id: int, now: datetime | None = None, *, nothing_left: str | None = None) -> None:
        """A removal done: `removed`, or `gone` when Slack had nothing left to remove (`nothing_left`: its answer)."""
        self._update(delivery_id, state="gone" if nothing_left else "removed", posted_at=iso(now or utcnow()),
                     last_error=nothing_left)

    def mark_updated(self, delivery_id: int, now: datetime | None = None) -> None:
        """An `update` row done: the message it points to shows what `render` gave."""
        self._update(delivery_id, state="updated", posted_at=iso(now or utcnow()), last_error=None)

    def requeue(self, delivery_id: int, not_before: datetime, error: str, *, count_attempt: bool) -> None:
        attempts = self.delivery(delivery_id).attempts + (1 if count_attempt else 0)
        self._update(delivery_id, state="pending", not_before=iso(not_before), last_error=error, attempts=attempts)

    def count_attempt(self, delivery_id: int) -> None:
        self._update(delivery_id, attempts=self.delivery(delivery_id).attempts + 1)

    def mark_failed(self, delivery_id: int, error: str) -> None:
        self._update(delivery_id, state="failed", last_error=error)

    def dismiss_card(self, delivery_id: int, user_id: str, now: datetime | None = None) -> None:
        self._update(delivery_id, dismissed_by=user_id, dismissed_at=iso(now or utcnow()))

    def latest_posted_card(self, mention_id: int) -> Delivery | None:
        """The mention's most recent card in Slack, if any watcher posted one."""
        row = self._db.execute(
            "select id from deliveries where mention_id = ? and kind = 'card' and slack_ts is not null"
            " order by posted_at desc, id desc limit 1",
            [mention_id],
        ).fetchone()
        return self.delivery(row[0]) if row else None

    def mentions_posted_since(self, channel: str, since: datetime, limit: int) -> list[int]:
        """The mentions whose cards were posted in `channel` since `since`, first posted first, at most `limit`."""
        rows = self._db.execute(
            "select mention_id from deliveries where channel = ? and kind = 'card' and slack_ts is not null"
            " and posted_at >= ? order by posted_at limit ?",
            [channel, iso(since), limit],
        )
        return [mention_id for (mention_id,) in rows]

    def dismissal(self, delivery_id: int) -> Dismissal | None:
        """Who dismissed the card and when, if someone did."""
        row = self._db.execute(
            "select dismissed_by, dismissed_at from deliveries where id = ?", [delivery_id]
        ).fetchone()
        if row is None or not row[0] or not row[1]:
            return None
        return Dismissal(by=row[0], at=datetime.fromisoformat(row[1]))

    def posted_cards(self, mention_ids: Collection[int]) -> list[int]:
        """The ids of these mentions' cards that are in Slack (or being posted): those to redraw when what they
        show changed (a model label, a false claim marked or closed). Any number of ids: a claim may have many."""
        found: list[int] = []
        for chunk in _chunks(list(mention_ids), 500):
            rows = self._db.execute(
                "select id from deliveries where kind = 'card' and state in ('posted', 'sending')"
                f" and mention_id in ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            found += [row[0] for row in rows]
        return sorted(found)

    def card_for_message(self, channel: str, ts: str) -> Delivery | None:
        rows = list(
            self._db.query(
                "select d.*, null as parent_ts from deliveries d where channel = ? and slack_ts = ? and kind = 'card'",
                [channel, ts],
            )
        )
        return _delivery(rows[0]) if rows else None

    def _update(self, delivery_id: int, **values: Any) -> None:
        with self._db.atomic():
            self._db["deliveries"].update(delivery_id, values)


def _removal_request(action: str, reason: str, days: int | None) -> str:
    """A removal row's message: what to do and why, never what the message said."""
    if action not in REMOVAL_ACTIONS or reason not in REMOVAL_REASONS:
        raise ValueError(f"a removal is {' or '.join(REMOVAL_ACTIONS)}, for {' or '.join(REMOVAL_REASONS)}")
    request: dict[str, Any] = {"action": action, "reason": reason}
    if days is not None:
        request["days"] = days
    return json.dumps(request)


def _mention_values(mention: Mention, stamp: str) -> list[Any]:
    values = [*_MENTION_FIELD_VALUES(mention), stamp]
    values[_CREATED_AT] = iso(mention.created_at) if mention.created_at else None
    values[_ENGAGEMENT] = json.dumps(mention.engagement) if mention.engagement else None
    return values


_MENTION_FIELD_VALUES = attrgetter(*MENTION_FIELDS)
_CREATED_AT = MENTION_FIELDS.index("created_at")
_ENGAGEMENT = MENTION_FIELDS.index("engagement")


def mention_from_row(row: dict[str, Any]) -> Mention:
    """A `mentions` row (or a query selecting its columns) as the Mention it stores."""
    return Mention(
        source=row["source"],
        external_id=row["external_id"],
        url=row["url"] or "",
        text=row["text"] or "",
        title=row["title"] or "",
        author_handle=row["author_handle"] or "",
        author_name=row["author_name"] or "",
        author_reach=row["author_reach"],
        created_at=datetime.fromisoformat(row["created_at"]) if row["created_at"] else None,
        lang=row["lang"],
        engagement=json.loads(row["engagement"]) if row["engagement"] else {},
        conversation_id=row["conversation_id"],
        parent_id=row["parent_id"],
    )


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        kind=row["kind"],
        watcher=row["watcher"],
        channel=row["channel"],
        mention_id=row["mention_id"],
        parent_id=row["parent_id"],
        state=row["state"],
        attempts=row["attempts"] or 0,
        not_before=row["not_before"],
        slack_ts=row["slack_ts"],
        thread_ts=row.get("parent_ts") or row["thread_ts"],
        rollup_count=row["rollup_count"],
        sent_at=row["sent_at"],
        message=json.loads(row["message"]) if row.get("message") else None,
        priority=row["priority"],
        rollup_more=row["rollup_more"],
        rollup_top=tuple(json.loads(row["rollup_top"])) if row["rollup_top"] else (),
        target_ts=row.get("target_ts"),
    )


def _within_limit(
    fresh: list[tuple[int, Mention]], limit: int | None
) -> tuple[list[tuple[int, Mention]], list[tuple[int, Mention]]]:
    """Split a poll's new mentions (oldest first) into the `limit` best-scoring, still oldest first, and the rest,
    best first. Equal scores favour the newest, as backfill does."""
    if limit is None or len(fresh) <= limit:
        return fresh, []
    ranked = sorted(range(len(fresh)), key=lambda position: (-mention_score(fresh[position][1]), -position))
    return [fresh[i] for i in sorted(ranked[:limit])], [fresh[i] for i in ranked[limit:]]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
