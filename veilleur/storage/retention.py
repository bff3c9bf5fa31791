"""Retention and erasure in SQLite: what each table keeps and for how long (`RETENTION_RULES`), and the steps a
purge or a `forget` is made of (`ErasureRecords`), each one bounded transaction.

Erasing a mention takes everything that copies it or points to it, in one transaction: its cards (and a roll-up
left naming nothing), their story places, spike times and thread replies, its escalations, then the mention. What
the digest and trends need is folded first into `mention_counts` (per day of collection, watcher, source and
stance), and a keyed hash of the post into `erased_items` when the same post could come back in a feed. Each
message of the bot's in Slack that showed it is queued for removal (`Store.queue_card_removals`), as
SLACK_CARD_RETENTION says.

Erasure transactions run with foreign key checks off. SQLite checks every deleted row against each table that
refers to it, and several of those columns have no index (digests, spikes and escalations refer to deliveries;
story keys to stories): with the checks on, each deleted card or mention would read those tables whole. The
steps here delete the referring rows first themselves, and the tests run `PRAGMA foreign_key_check` after them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from veilleur.core.stance_labels import effective_stance
from veilleur.core.watcher_config import normal_handle
from veilleur.storage.escalations import IN_PROGRESS
from veilleur.storage.store import Store, _chunks, iso

_IN_PROGRESS = ", ".join(f"'{state}'" for state in IN_PROGRESS)
# A row's Slack message is gone or never was in these states: an outbox row done with cannot be pending or sending.
_OUTBOX_BUSY = "('pending', 'sending')"


class Rule(StrEnum):
    WITH_MENTION = "with its mention"  # erased with the mention it belongs to: by retention or by `forget`
    RETENTION = "RETENTION_DAYS"  # deleted (or its content cleared) RETENTION_DAYS after it was made
    ESCALATION_RETENTION = "ESCALATION_RETENTION_DAYS"
    AUDIT_RETENTION = "AUDIT_RETENTION_DAYS"
    KEPT = "kept"  # holds no post and no author: counts, configuration, keyed hashes


@dataclass(frozen=True)
class TableRule:
    rule: Rule
    how: str
    # A kept table's columns, none of them a post's content or its author: a column added later fails the schema
    # test until someone says what becomes of it.
    columns: tuple[str, ...] = ()


# Every table of the schema and what becomes of its rows (tests/storage/test_retention.py walks the schema against
# it; README, "Data protection", tells it to the operator).
RETENTION_RULES: dict[str, TableRule] = {
    "mentions": TableRule(
        Rule.RETENTION,
        "erased RETENTION_DAYS after collection, unless an escalation kept within ESCALATION_RETENTION_DAYS holds"
        " it; erased by `forget`; counted first in mention_counts",
    ),
    "deliveries": TableRule(
        Rule.WITH_MENTION,
        "cards go with their mention (their Slack message redacted or deleted); a roll-up once it holds no card"
        " and names no mention; notices keep their row (digests refer to it) but their message is cleared after"
        " RETENTION_DAYS; removal rows are deleted by the purge after the outbox is done with them; a false claim's"
        " message row (`claim`, rendered from the claim) stays, and its `update` rows are replaced by the next one",
    ),
    "story_members": TableRule(Rule.WITH_MENTION, "with their card"),
    "story_keys": TableRule(Rule.WITH_MENTION, "with their card"),
    "stories": TableRule(
        Rule.WITH_MENTION, "once no card is left in them, or with their first card (its campaign notice too)"
    ),
    "spike_times": TableRule(Rule.WITH_MENTION, "with their card"),
    "escalations": TableRule(
        Rule.ESCALATION_RETENTION,
        "ESCALATION_RETENTION_DAYS after they finished (their Slack message removed), with their mention when it"
        " goes, and all of an author's by `forget`; one in progress keeps its mention",
    ),
    "escalators": TableRule(Rule.ESCALATION_RETENTION, "with their escalation"),
    "escalation_events": TableRule(Rule.ESCALATION_RETENTION, "with their escalation"),
    "claims": TableRule(
        Rule.ESCALATION_RETENTION,
        "false claims the team marked: the team's own words (the claim, its key phrases, the official correction),"
        " a record of its work like an escalation, so kept while open and deleted ESCALATION_RETENTION_DAYS after"
        " being closed, with their claim_mentions",
    ),
    "claim_mentions": TableRule(
        Rule.WITH_MENTION, "with their mention (retention, and `forget` of its author), or with their claim"
    ),
    "poll_failures": TableRule(Rule.RETENTION, "deleted RETENTION_DAYS after the failure"),
    "spikes": TableRule(Rule.RETENTION, "deleted RETENTION_DAYS after the alert (the cooldown needs the last one)"),
    "audit_log": TableRule(Rule.AUDIT_RETENTION, "deleted AUDIT_RETENTION_DAYS after the action"),
    "mention_counts": TableRule(
        Rule.KEPT, "how many mentions per day, watcher, source and stance", ("day", "watcher", "source", "stance",
                                                                             "mentions"),
    ),
    "suppressions": TableRule(
        Rule.KEPT, "keyed hashes of the authors who objected, as long as Veilleur runs",
        ("key_hash", "created_at", "reason"),
    ),
    "erased_items": TableRule(
        Rule.KEPT, "keyed hashes of erased posts that a feed could bring back", ("key_hash", "at")
    ),
    "erasures": TableRule(
        Rule.KEPT,
        "one row per purge or forget; the author's handle only while the run is in progress, then its keyed hash",
        ("id", "kind", "reason", "author", "author_hash", "source", "cutoff", "requested_by", "requested_at",
         "finished_at", "removed"),
    ),
    "digests": TableRule(
        Rule.KEPT,
        "one row per digest; its message is in its outbox row (cleared after RETENTION_DAYS), its chart counts",
        ("id", "kind", "channel", "period_start", "period_end", "delivery_id", "created_at", "chart", "chart_state",
         "chart_file_id"),
    ),
    "llm_usage": TableRule(
        Rule.KEPT, "tokens spent per request, no prompt or answer",
        ("id", "at", "day", "task", "model", "prompt_tokens", "completion_tokens", "total_tokens", "outcome",
         "seconds"),
    ),
    "spike_progress": TableRule(Rule.KEPT, "the last delivery id counted", ("id", "last_delivery_id")),
    "watcher_state": TableRule(
        Rule.KEPT, "one row per watcher, overwritten by each poll: its cursor and its last error",
        ("name", "cursor", "first_polled_at", "last_polled_at", "last_success_at", "last_error", "last_error_at",
         "failing_since", "consecutive_failures", "last_error_phrase"),
    ),
    "watchers": TableRule(
        Rule.KEPT, "the watchers made in Slack, as long as they exist",
        ("name", "source", "fields", "created_by", "created_at", "updated_by", "updated_at"),
    ),
    "watcher_pauses": TableRule(Rule.KEPT, "paused watchers", ("name", "paused_by", "paused_at")),
    "public_roles": TableRule(
        Rule.KEPT,
        "the team's own list of public figures (`authors import`: elected officials, journalists, media,"
        " institutions), kept until re-imported; `forget` deletes the author's rows, since they name them",
        ("source", "handle", "name", "role", "imported_at"),
    ),
    "labelling_since": TableRule(
        Rule.KEPT, "the first mention the LLM's stance labelling asks about, set once",
        ("id", "first_mention_id", "started_at"),
    ),
    "_sqlite_migrations": TableRule(
        Rule.KEPT, "the migrations applied", ("id", "migration_set", "name", "applied_at")
    ),
}


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    """What a run (or one of its steps) removed; a run's totals are kept in `erasures.removed` as it goes."""

    mentions: int = 0
    cards: int = 0  # cards made (posted, pending, grouped...), not the quiet records of a first poll
    story_entries: int = 0
    escalations: int = 0
    slack_messages: int = 0  # the bot's Slack messages queued for removal
    notices: int = 0  # stored messages of digests and alerts cleared
    kept_for_escalation: int = 0  # past retention, kept for an escalation
    poll_failures: int = 0
    audit_entries: int = 0
    spikes: int = 0
    outbox_rows: int = 0  # removal rows done with, deleted
    claims: int = 0  # false claims closed long enough ago, deleted

    def __add__(self, other: ErasureCounts) -> ErasureCounts:
        return ErasureCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def anything(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "kept_for_escalation")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ErasureCounts:
        known = {f.name for f in fields(cls)}
        values = json.loads(text) if text else {}
        return cls(**{key: value for key, value in values.items() if key in known})


@dataclass(frozen=True, slots=True)
class SlackRemoval:
    """What becomes of the bot's Slack messages that showed erased data (None when SLACK_CARD_RETENTION=keep)."""

    action: str  # redact or delete
    reason: str  # retention or author_request
    days: int | None = None  # the retention period that ended, for the notice


@dataclass(frozen=True, slots=True)
class ErasureRun:
    id: int
    kind: str  # purge or forget
    reason: str
    author: str | None  # only while in progress
    source: str | None
    cutoff: datetime | None
    requested_by: str | None
    requested_at: datetime
    removed: ErasureCounts


@dataclass(frozen=True, slots=True)
class Step:
    """One transaction's work. `in_flight`: mentions left for now, a card of theirs being posted at that moment
    (its Slack ts is not known yet); `stories`: stories that lost a card but go on (their first card shows the
    others); `last_id`: where a walk over the mentions stopped."""

    counts: ErasureCounts
    more: bool = False
    in_flight: tuple[int, ...] = ()
    stories: frozenset[int] = frozenset()
    last_id: int = 0


# Given a post's source, id and publication time, the keyed hash to remember it by, or None if it need not be.
Remember = Callable[[str, str, str | None], str | None]


@dataclass
class _Chunk:
    """What one erasure transaction has read and done so far."""

    removal: SlackRemoval | None
    now: str
    counts: Counter[str] = field(default_factory=Counter)
    # The bot's messages to remove, as (watcher, channel, ts), queued together when the transaction ends.
    removals: dict[tuple[str, str], str] = field(default_factory=dict)


class ErasureRecords:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store._db

    # Runs -------------------------------------------------------------------------------------------------

    def unfinished(self) -> list[ErasureRun]:
        """Runs begun and never finished (the process was killed), oldest first."""
        return [_run(row) for row in self._db.query("select * from erasures where finished_at is null order by id")]

    def start_purge(self, *, cutoff: datetime, requested_by: str, now: datetime) -> int:
        with self._db.atomic():
            cursor = self._db.execute(
                "insert into erasures (kind, reason, cutoff, requested_by, requested_at, removed)"
                " values ('purge', 'retention', ?, ?, ?, ?)",
                [iso(cutoff), requested_by, iso(now), ErasureCounts().to_json()],
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def start_forget(
        self, *, author: str, source: str | None, author_hash: str, reason: str, requested_by: str, now: datetime
    ) -> int:
        """Record the run and the author's suppression together: from this commit on, polls drop their posts."""
        with self._db.atomic():
            cursor = self._db.execute(
                "insert into erasures (kind, reason, author, author_hash, source, requested_by, requested_at, removed)"
                " values ('forget', ?, ?, ?, ?, ?, ?, ?)",
                [reason, author, author_hash, source, requested_by, iso(now), ErasureCounts().to_json()],
            )
            self._db.execute(
                "insert into suppressions (key_hash, created_at, reason) values (?, ?, ?)"
                " on conflict (key_hash) do nothing",
                [author_hash, iso(now), reason],
            )
            # An imported public role names the author: it goes with the rest (compared as `AuthorRecords` does).
            self._db.execute(
                "delete from public_roles where (handle = :author or lower(name) = :name)"
                " and (:source is null or source = :source)",
                {"author": normal_handle(author), "name": author.strip().casefold(), "source": source},
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def is_suppressed(self, key_hash: str) -> bool:
        return self._db.execute("select 1 from suppressions where key_hash = ?", [key_hash]).fetchone() is not None

    def finish(self, run_id: int, now: datetime) -> ErasureCounts:
        """Mark the run done; the author's handle goes (its keyed hash stays). Returns the run's totals."""
        with self._db.atomic():
            self._db.execute(
                "update erasures set author = null, finished_at = ? where id = ?", [iso(now), run_id]
            )
        (removed,) = self._db.execute("select removed from erasures where id = ?", [run_id]).fetchone()
        return ErasureCounts.from_json(removed)

    # Steps: each one transaction (rolled back in a dry run) ---------------------------------------------------

    def erase_mentions(
        self,
        run_id: int | None,
        mention_ids: Sequence[int],
        *,
        removal: SlackRemoval | None,
        remember: Remember,
        now: datetime,
        dry_run: bool = False,
    ) -> Step:
        """Erase these mentions (those still there) and everything that copies them."""
        with self._erasing(run_id, now, removal, dry_run) as chunk:
            in_flight, stories = self._erase(chunk, mention_ids, remember)
        return Step(_counts(chunk), in_flight=in_flight, stories=stories)

    def erase_expired_mentions(
        self,
        run_id: int | None,
        *,
        after_id: int,
        limit: int,
        cutoff: datetime,
        escalation_cutoff: datetime,
        removal: SlackRemoval | None,
        remember: Remember,
        now: datetime,
        dry_run: bool = False,
    ) -> Step:
        """The next `limit` mentions after `after_id`, up to the first collected since `cutoff`: erase those no
        escalation holds, and the finished escalations past `escalation_cutoff` of those one holds.

        Mentions are walked by id (the primary key): ids grow with the time of collection, so the oldest come
        first and the walk ends at the first mention within the retention period. No index on `first_seen_at` is
        needed (m009 dropped it: each poll would write it, for one daily read).
        """
        with self._erasing(run_id, now, removal, dry_run) as chunk:
            rows = self._db.execute(
                "select id, first_seen_at from mentions where id > ? order by id limit ?", [after_id, limit]
            ).fetchall()
            limit_at = iso(cutoff)
            old = []
            reached = len(rows) < limit
            for mention_id, first_seen_at in rows:
                if first_seen_at >= limit_at:
                    reached = True
                    break
                old.append(mention_id)
            held = self._held_by_escalations(old, escalation_cutoff)
            chunk.counts["kept_for_escalation"] += len(held)
            self._erase_escalations(chunk, [escalation_id for (escalation_id,) in self._execute_in(
                f"select id from escalations where mention_id in ({{}}) and state not in ({_IN_PROGRESS})"
                " and finished_at < ?", list(held), [iso(escalation_cutoff)])])
            in_flight, stories = self._erase(chunk, [m for m in old if m not in held], remember)
        last_id = old[-1] if old else after_id
        return Step(_counts(chunk), more=not reached, in_flight=in_flight, stories=stories, last_id=last_id)

    def erase_expired_escalations(
        self,
        run_id: int | None,
        *,
        after_id: int,
        cutoff: datetime,
        escalation_cutoff: datetime,
        limit: int,
        removal: SlackRemoval | None,
        now: datetime,
        dry_run: bool = False,
    ) -> Step:
        """The next `limit` escalations after `after_id` that finished before `escalation_cutoff`, of mentions
        collected since `cutoff` (which stay, RETENTION_DAYS being the longer): the walk over the older mentions
        takes the others, so that no escalation is counted twice, even in a dry run."""
        with self._erasing(run_id, now, removal, dry_run) as chunk:
            ids = [
                escalation_id
                for (escalation_id,) in self._db.execute(
                    f"select id from escalations e where id > ? and state not in ({_IN_PROGRESS}) and finished_at < ?"
                    " and exists (select 1 from mentions m where m.id = e.mention_id and m.first_seen_at >= ?)"
                    " order by id limit ?",
                    [after_id, iso(escalation_cutoff), iso(cutoff), limit],
                )
            ]
            self._erase_escalations(chunk, ids)
        return Step(_counts(chunk), more=len(ids) == limit, last_id=ids[-1] if ids else after_id)

    def clear_old_notices(self, run_id: int | None, *, cutoff: datetime, limit: int, now: datetime) -> Step:
        """Clear the stored message of notices (digests, alerts: they quote mentions) sent before `cutoff`; the rows
        stay, digests refer to them."""
        with self._erasing(run_id, now) as chunk:
            cursor = self._db.execute(
                "update deliveries set message = null where id in (select id from deliveries where created_at < ?"
                f" and kind = 'notice' and message is not null and state not in {_OUTBOX_BUSY} limit ?)",
                [iso(cutoff), limit],
            )
            chunk.counts["notices"] += cursor.rowcount
        return Step(_counts(chunk), more=cursor.rowcount == limit)

    def clear_notices(self, run_id: int | None, notice_ids: Sequence[int], *, now: datetime) -> Step:
        """Clear the stored message of these notices (those that quote an erased author)."""
        with self._erasing(run_id, now) as chunk:
            for ids in _chunks(list(notice_ids), 500):
                cursor = self._db.execute(
                    f"update deliveries set message = null where id in ({_marks(ids)}) and message is not null"
                    f" and state not in {_OUTBOX_BUSY}",
                    ids,
                )
                chunk.counts["notices"] += cursor.rowcount
        return Step(_counts(chunk))

    def delete_old(self, run_id: int | None, what: str, *, cutoff: datetime, limit: int, now: datetime) -> Step:
        """Delete up to `limit` rows of `what` (see `_OLD_ROWS`) made before `cutoff`."""
        table, source, condition, counted = _OLD_ROWS[what]
        with self._erasing(run_id, now) as chunk:
            cursor = self._db.execute(
                f"delete from {table} where rowid in (select rowid from {source} where {condition} limit ?)",
                [iso(cutoff), limit],
            )
            chunk.counts[counted] += cursor.rowcount
        return Step(_counts(chunk), more=cursor.rowcount == limit)

    def delete_closed_claims(self, run_id: int | None, *, cutoff: datetime, limit: int, now: datetime) -> Step:
        """Delete up to `limit` false claims closed before `cutoff`, with the mentions counted under them (the
        mentions themselves stay, under their own retention)."""
        with self._erasing(run_id, now) as chunk:
            ids = [claim_id for (claim_id,) in self._db.execute(
                "select id from claims where state = 'closed' and closed_at < ? order by id limit ?",
                [iso(cutoff), limit])]
            self._execute_in("delete from claim_mentions where claim_id in ({})", ids)
            self._execute_in("delete from claims where id in ({})", ids)
            chunk.counts["claims"] += len(ids)
        return Step(_counts(chunk), more=len(ids) == limit)

    def count_closed_claims(self, *, cutoff: datetime) -> int:
        (count,) = self._db.execute(
            "select count(*) from claims where state = 'closed' and closed_at < ?", [iso(cutoff)]
        ).fetchone()
        return count

    # Reading (any connection: a dry run reads in a worker thread) --------------------------------------------

    def purge_due(
        self, *, cutoff: datetime, escalation_cutoff: datetime, audit_cutoff: datetime, now: datetime
    ) -> bool:
        """Whether a purge with these limits would remove anything."""
        limit_at = iso(cutoff)
        for mention_id, first_seen_at in self._db.execute("select id, first_seen_at from mentions order by id"):
            if first_seen_at >= limit_at:
                break
            if not self._held_by_escalations([mention_id], escalation_cutoff):
                return True
        checks = [
            (f"select 1 from escalations where state not in ({_IN_PROGRESS}) and finished_at < ? limit 1",
             escalation_cutoff),
            ("select 1 from deliveries where created_at < ? and kind = 'notice' and message is not null"
             f" and state not in {_OUTBOX_BUSY} limit 1", cutoff),
            ("select 1 from claims where state = 'closed' and closed_at < ? limit 1", escalation_cutoff),
            *((f"select 1 from {source} where {condition} limit 1", moment)
              for (_, source, condition, _), moment in (
                  (_OLD_ROWS["poll_failures"], cutoff), (_OLD_ROWS["spikes"], cutoff), (_OLD_ROWS["removals"], now),
                  (_OLD_ROWS["audit_log"], audit_cutoff))),
        ]
        return any(self._db.execute(sql, [iso(moment)]).fetchone() for sql, moment in checks)

    def count_old(self, what: str, *, cutoff: datetime) -> int:
        _, source, condition, _ = _OLD_ROWS[what]
        (count,) = self._db.execute(f"select count(*) from {source} where {condition}", [iso(cutoff)]).fetchone()
        return count

    def count_old_notices(self, *, cutoff: datetime) -> int:
        (count,) = self._db.execute(
            "select count(*) from deliveries where created_at < ? and kind = 'notice' and message is not null"
            f" and state not in {_OUTBOX_BUSY}",
            [iso(cutoff)],
        ).fetchone()
        return count

    def author_names(self, mention_ids: Sequence[int]) -> set[str]:
        """The handles and names these mentions were posted under."""
        rows = self._execute_in(
            "select distinct author_handle, author_name from mentions where id in ({})", mention_ids
        )
        return {value for row in rows for value in row if value}

    def notices_quoting(self, needles: Iterable[str]) -> list[int]:
        """The sent notices (digests, alerts) whose message holds one of `needles`, compared without case.

        Every notice is read (a few a day, but no index on `kind`): call it in a worker thread (`Store.read`).
        """
        wanted = [needle.casefold() for needle in needles if needle]
        found = []
        rows = self._db.execute(
            f"select id, message from deliveries where kind = 'notice' and message is not null"
            f" and state not in {_OUTBOX_BUSY}"
        )
        for notice_id, message in rows:
            texts = [text.casefold() for text in _strings(json.loads(message))]
            if any(needle in text for needle in wanted for text in texts):
                found.append(notice_id)
        return found

    # Erasing ----------------------------------------------------------------------------------------------

    @contextmanager
    def _erasing(
        self, run_id: int | None, now: datetime, removal: SlackRemoval | None = None, dry_run: bool = False
    ) -> Iterator[_Chunk]:
        """One erasure transaction with foreign key checks off (see the module's docstring); the run's totals are
        updated in it. A dry run rolls it back: its counts are exact, and nothing changes."""
        connection = self._db.conn
        assert not connection.in_transaction, "an erasure step is a transaction of its own"
        chunk = _Chunk(removal, iso(now))
        connection.execute("PRAGMA foreign_keys=OFF")
        try:
            connection.execute("BEGIN")
            try:
                yield chunk
                if chunk.removal is not None and chunk.removals:
                    self._store.queue_card_removals(
                        [(watcher, channel, ts) for (channel, ts), watcher in chunk.removals.items()],
                        chunk.removal.action, chunk.removal.reason, datetime.fromisoformat(chunk.now),
                        days=chunk.removal.days,
                    )
                if run_id is not None and not dry_run:
                    self._add_to_run(run_id, _counts(chunk))
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("ROLLBACK" if dry_run else "COMMIT")
        finally:
            connection.execute("PRAGMA foreign_keys=ON")

    def _add_to_run(self, run_id: int, counts: ErasureCounts) -> None:
        (removed,) = self._db.execute("select removed from erasures where id = ?", [run_id]).fetchone()
        total = ErasureCounts.from_json(removed) + counts
        self._db.execute("update erasures set removed = ? where id = ?", [total.to_json(), run_id])

    def _erase(
        self, chunk: _Chunk, mention_ids: Sequence[int], remember: Remember
    ) -> tuple[tuple[int, ...], frozenset[int]]:
        mentions = self._rows(
            "select id, source, external_id, title, text, first_seen_at, created_at, stance_model, stance_team"
            " from mentions where id in ({})",
            mention_ids,
        )
        cards = self._rows(
            "select id, mention_id, kind, watcher, channel, parent_id, state, slack_ts, created_at from deliveries"
            " where mention_id in ({})",
            [row["id"] for row in mentions],
        )
        in_flight = {card["mention_id"] for card in cards if card["state"] == "sending"}
        if in_flight:
            mentions = [row for row in mentions if row["id"] not in in_flight]
            cards = [card for card in cards if card["mention_id"] not in in_flight]
        if not mentions:
            return tuple(sorted(in_flight)), frozenset()
        ids = [row["id"] for row in mentions]
        self._fold_counts(mentions, cards)
        self._remember(chunk, mentions, remember)
        self._erase_escalations(
            chunk, [escalation_id for (escalation_id,) in self._execute_in(
                "select id from escalations where mention_id in ({})", ids)]
        )
        card_ids = [card["id"] for card in cards]
        stories = self._leave_stories(chunk, cards)
        self._execute_in("delete from spike_times where delivery_id in ({})", card_ids)
        self._delete_replies(chunk, card_ids)
        self._execute_in("delete from deliveries where id in ({})", card_ids)
        self._execute_in("delete from claim_mentions where mention_id in ({})", ids)
        for card in cards:
            self._queue_removal(chunk, card["watcher"], card["channel"], card["slack_ts"])
        chunk.counts["cards"] += sum(1 for card in cards if card["state"] != "quiet")
        self._settle_rollups(chunk, cards, set(ids))
        self._execute_in("delete from mentions where id in ({})", ids)
        chunk.counts["mentions"] += len(ids)
        return tuple(sorted(in_flight)), stories

    def _fold_counts(self, mentions: list[dict[str, Any]], cards: list[dict[str, Any]]) -> None:
        """Count the mentions under each watcher whose card the digest counted (not a first poll's quiet backlog),
        or under "" when none did, by their effective stance (the team's, the model's or the word list's)."""
        found_by: dict[int, set[str]] = defaultdict(set)
        for card in cards:
            if card["kind"] == "card" and card["state"] != "quiet":
                found_by[card["mention_id"]].add(card["watcher"])
        counts: Counter[tuple[str, str, str, str]] = Counter()
        for row in mentions:
            day = row["first_seen_at"][:10]
            text = f"{row['title']}\n{row['text'] or ''}" if row["title"] else row["text"] or ""
            stance = effective_stance(text, team=row["stance_team"], model=row["stance_model"]).label
            for watcher in found_by[row["id"]] or {""}:
                counts[day, watcher, row["source"], stance] += 1
        self._db.conn.executemany(
            "insert into mention_counts (day, watcher, source, stance, mentions) values (?, ?, ?, ?, ?)"
            " on conflict (day, watcher, source, stance) do update set mentions = mentions + excluded.mentions",
            [(*key, count) for key, count in counts.items()],
        )

    def _remember(self, chunk: _Chunk, mentions: list[dict[str, Any]], remember: Remember) -> None:
        hashes = [remember(row["source"], row["external_id"], row["created_at"]) for row in mentions]
        self._db.conn.executemany(
            "insert into erased_items (key_hash, at) values (?, ?) on conflict (key_hash) do nothing",
            [(key_hash, chunk.now) for key_hash in hashes if key_hash is not None],
        )

    def _erase_escalations(self, chunk: _Chunk, escalation_ids: list[int]) -> None:
        if not escalation_ids:
            return
        for row in self._rows("select watcher, channel, message_ts from escalations where id in ({})", escalation_ids):
            self._queue_removal(chunk, row["watcher"] or "", row["channel"], row["message_ts"])
        for table in ("escalators", "escalation_events"):
            self._execute_in(f"delete from {table} where escalation_id in ({{}})", escalation_ids)
        self._execute_in("delete from escalations where id in ({})", escalation_ids)
        chunk.counts["escalations"] += len(escalation_ids)

    def _leave_stories(self, chunk: _Chunk, cards: list[dict[str, Any]]) -> frozenset[int]:
        """Take the cards out of their stories. A story whose first card goes is dissolved (its other cards keep
        their mentions, and later copies start a new story with a card of their own), with the campaign notice
        that quoted that first post; a story left with no card goes. Returns the stories that go on with fewer
        cards: their first card lists the others."""
        card_ids = [card["id"] for card in cards]
        members = self._rows("select card_id, story_id from story_members where card_id in ({})", card_ids)
        chunk.counts["story_entries"] += len(members)
        led = self._rows("select id, channel, first_card_id, campaign_at from stories where first_card_id in ({})",
                         card_ids)
        dissolved = {story["id"] for story in led}
        leaving = {member["card_id"] for member in members}
        leaving.update(card_id for (card_id,) in self._execute_in(
            "select card_id from story_members where story_id in ({})", list(dissolved)))
        self._execute_in("delete from story_keys where card_id in ({})", list(leaving))
        self._execute_in("delete from story_members where card_id in ({})", list(leaving))
        touched = {member["story_id"] for member in members} - dissolved
        still = {story_id for (story_id,) in self._execute_in(
            "select distinct story_id from story_members where story_id in ({})", list(touched))}
        self._delete_campaign_notices(chunk, led, {card["id"]: card["parent_id"] for card in cards})
        self._execute_in("delete from stories where id in ({})", list(dissolved | (touched - still)))
        return frozenset(still)

    def _delete_campaign_notices(
        self, chunk: _Chunk, stories: list[dict[str, Any]], parents: dict[int, int | None]
    ) -> None:
        """A story's campaign notice quotes its first post: it was queued when the story was flagged, in the first
        card's thread (or its roll-up's)."""
        for story in stories:
            if story["campaign_at"] is None:
                continue
            threads = [story["first_card_id"], parents.get(story["first_card_id"])]
            rows = self._db.query(
                "select id, watcher, channel, slack_ts from deliveries where created_at = ? and kind = 'notice'"
                " and channel = ? and parent_id in (?, ?)",
                [story["campaign_at"], story["channel"], *threads],
            )
            self._delete_messages(chunk, list(rows))

    def _delete_replies(self, chunk: _Chunk, delivery_ids: list[int]) -> None:
        """Notices in the thread of messages about to go (a campaign notice under its first card)."""
        replies = self._rows(
            "select id, watcher, channel, slack_ts from deliveries where parent_id in ({}) and kind = 'notice'",
            delivery_ids,
        )
        self._delete_messages(chunk, replies)

    def _delete_messages(self, chunk: _Chunk, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self._queue_removal(chunk, row["watcher"], row["channel"], row["slack_ts"])
        self._execute_in("delete from deliveries where id in ({})", [row["id"] for row in rows])

    def _settle_rollups(self, chunk: _Chunk, cards: list[dict[str, Any]], erased: set[int]) -> None:
        """The roll-ups of the erased cards: a roll-up holding no card and naming no mention goes; one that named
        an erased mention (its best few past the card limit) forgets it, and its posted message is removed."""
        ids = {card["parent_id"] for card in cards if card["parent_id"] is not None}
        # An overflow card has no parent: its roll-up is the one its poll made, at the same moment.
        for card in cards:
            if card["state"] == "overflow":
                ids.update(rollup_id for (rollup_id,) in self._db.execute(
                    "select id from deliveries where created_at = ? and watcher = ? and kind = 'rollup'",
                    [card["created_at"], card["watcher"]],
                ))
        for rollup in self._rows(
            "select id, watcher, channel, slack_ts, state, rollup_top from deliveries where id in ({})", list(ids)
        ):
            named = json.loads(rollup["rollup_top"]) if rollup["rollup_top"] else []
            kept = [mention_id for mention_id in named if mention_id not in erased]
            (left,) = self._db.execute(
                "select count(*) from deliveries where parent_id = ? and kind = 'card'", [rollup["id"]]
            ).fetchone()
            if not left and not kept:
                if rollup["state"] == "sending":
                    continue  # the outbox records its ts in a moment: an empty roll-up names no one, it can stay
                self._delete_replies(chunk, [rollup["id"]])
                self._delete_messages(chunk, [rollup])
                continue
            if kept != named:
                self._db.execute(
                    "update deliveries set rollup_top = ? where id = ?", [json.dumps(kept) if kept else None,
                                                                          rollup["id"]]
                )
                self._queue_removal(chunk, rollup["watcher"], rollup["channel"], rollup["slack_ts"])
            self._db.execute(
                "update deliveries set rollup_count = ? where id = ? and state = 'pending'", [left, rollup["id"]]
            )

    def _queue_removal(self, chunk: _Chunk, watcher: str, channel: str | None, ts: str | None) -> None:
        if chunk.removal is None or not channel or not ts or (channel, ts) in chunk.removals:
            return
        chunk.removals[channel, ts] = watcher
        chunk.counts["slack_messages"] += 1

    def _held_by_escalations(self, mention_ids: list[int], escalation_cutoff: datetime) -> set[int]:
        """The mentions an escalation still needs: one in progress, or finished since `escalation_cutoff`."""
        return {
            mention_id
            for (mention_id,) in self._execute_in(
                "select distinct mention_id from escalations where mention_id in ({})"
                f" and (state in ({_IN_PROGRESS}) or finished_at is null or finished_at >= ?)",
                mention_ids,
                [iso(escalation_cutoff)],
            )
        }

    def _rows(self, sql: str, ids: Sequence[int]) -> list[dict[str, Any]]:
        """`sql` with "{}" standing for the placeholders of `ids`, run 500 ids at a time."""
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids), 500):
            rows.extend(self._db.query(sql.format(_marks(chunk)), chunk))
        return rows

    def _execute_in(self, sql: str, ids: Sequence[int], after: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        found: list[tuple[Any, ...]] = []
        for chunk in _chunks(list(ids), 500):
            found.extend(self._db.execute(sql.format(_marks(chunk)), [*chunk, *after]).fetchall())
        return found


# What a purge deletes by age: the table, where to read it from, the rows made before a moment, what they count as.
_OLD_ROWS: dict[str, tuple[str, str, str, str]] = {
    "poll_failures": ("poll_failures", "poll_failures", "at < ?", "poll_failures"),
    "spikes": ("spikes", "spikes", "at < ?", "spikes"),
    "audit_log": ("audit_log", "audit_log", "at < ?", "audit_entries"),
    # The removal rows the outbox is done with, through the index that holds only them (m011): the other rows of
    # the states named could be a million cards.
    "removals": ("deliveries", "deliveries indexed by deliveries_removed",
                 "created_at < ? and kind = 'removal' and state in ('removed', 'gone', 'failed')", "outbox_rows"),
}


def _marks(ids: Sequence[Any]) -> str:
    return ", ".join("?" * len(ids))


def _counts(chunk: _Chunk) -> ErasureCounts:
    return ErasureCounts(**chunk.counts)


def _strings(value: Any) -> Iterator[str]:
    """Every string in a message's JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _run(row: dict[str, Any]) -> ErasureRun:
    return ErasureRun(
        id=row["id"],
        kind=row["kind"],
        reason=row["reason"],
        author=row["author"],
        source=row["source"],
        cutoff=datetime.fromisoformat(row["cutoff"]) if row["cutoff"] else None,
        requested_by=row["requested_by"],
        requested_at=datetime.fromisoformat(row["requested_at"]),
        removed=ErasureCounts.from_json(row["removed"]),
    )
