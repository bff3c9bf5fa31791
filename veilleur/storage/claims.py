"""False claims in SQLite (migration m017, see watching/claims.py): the claims the team follows, the mentions found
to repeat them, and the claim's message in the outbox with its updates.

A claim's message is an outbox row of kind `claim`, rendered from the claim when it is posted; an `update` row
points at it (`parent_id`) and is sent as a chat.update, rendered from the claim when it is sent. So a 429 or a
restart delays an update but loses none, and one pending update shows every change made before it goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from veilleur.storage.store import Priority, Store, _chunks, iso

# The outbox's pseudo-watcher for claim messages (rows need a watcher; notices use such names too).
CLAIMS_WATCHER = "claims"
_IDS_PER_STATEMENT = 500
_FINGERPRINT_BITS = 64


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    text: str
    phrases: tuple[str, ...]
    fingerprint: int | None  # unsigned
    correction_text: str | None
    correction_url: str | None
    correction_published_at: datetime | None
    state: str  # open or closed
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    channel: str
    message_id: int | None

    @property
    def corrected(self) -> bool:
        return self.correction_published_at is not None

    @property
    def correction(self) -> str | None:
        """The correction as one text: its words, then its link."""
        parts = [part for part in (self.correction_text, self.correction_url) if part]
        return "\n".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class NewClaim:
    text: str
    phrases: tuple[str, ...]
    fingerprint: int | None
    correction_text: str | None
    correction_url: str | None
    created_by: str
    channel: str


@dataclass(frozen=True, slots=True)
class ClaimSpread:
    """How far a claim went: its mentions, per source and per reach level (low, medium, high, "" unknown), and
    how many were matched before and after its correction was published."""

    mentions: int
    by_source: tuple[tuple[str, int], ...]  # most first
    by_level: dict[str, int]
    before_correction: int
    after_correction: int


@dataclass(frozen=True, slots=True)
class ClaimMention:
    mention_id: int
    level: str | None
    reach: int | None
    matched_at: datetime


class ClaimRecords:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    # Claims -----------------------------------------------------------------------------------------------

    def create(self, claim: NewClaim, at: datetime, *, mention_id: int | None = None, level: str | None = None) -> int:
        """Store the claim and queue its message (and the mention it was marked from, as its first)."""
        with self._db.atomic():
            cursor = self._db.conn.execute(
                "insert into claims (text, phrases, fingerprint, correction_text, correction_url,"
                " correction_published_at, state, created_by, created_at, channel) values (?, ?, ?, ?, ?, ?, 'open',"
                " ?, ?, ?)",
                [claim.text, "\n".join(claim.phrases), _signed(claim.fingerprint), claim.correction_text,
                 claim.correction_url, iso(at) if claim.correction_text or claim.correction_url else None,
                 claim.created_by, iso(at), claim.channel],
            )
            claim_id = cursor.lastrowid
            assert claim_id is not None
            message_id = self._queue(claim_id, "claim", claim.channel, None, Priority.ALERT, at)
            self._db.execute("update claims set message_id = ? where id = ?", [message_id, claim_id])
            if mention_id is not None:
                self.record_mentions([(claim_id, mention_id, level)], at)
        return claim_id

    def get(self, claim_id: int) -> Claim | None:
        rows = list(self._db.query("select * from claims where id = ?", [claim_id]))
        return _claim(rows[0]) if rows else None

    def open_claims(self) -> list[Claim]:
        return [_claim(row) for row in self._db.query("select * from claims where state = 'open' order by id")]

    def listed(self, limit: int) -> list[Claim]:
        """The open claims, then the latest closed ones, at most `limit`."""
        return [
            _claim(row)
            for row in self._db.query(
                "select * from claims order by state = 'closed', coalesce(closed_at, created_at) desc, id desc"
                " limit ?",
                [limit],
            )
        ]

    def close(self, claim_id: int, by: str, at: datetime) -> bool:
        """False when it was not open."""
        with self._db.atomic():
            cursor = self._db.execute(
                "update claims set state = 'closed', closed_by = ?, closed_at = ? where id = ? and state = 'open'",
                [by, iso(at), claim_id],
            )
            return cursor.rowcount > 0

    def mention_ids(self, claim_id: int) -> list[int]:
        """The mentions found to repeat the claim, the one it was marked from included."""
        rows = self._db.execute("select mention_id from claim_mentions where claim_id = ? order by mention_id",
                                [claim_id])
        return [mention_id for (mention_id,) in rows]

    def correct(self, claim_id: int, text: str | None, url: str | None, at: datetime) -> None:
        """The official correction, published `at` (now: the team records it when it is out)."""
        with self._db.atomic():
            self._db.execute(
                "update claims set correction_text = ?, correction_url = ?, correction_published_at = ? where id = ?",
                [text, url, iso(at), claim_id],
            )

    def claim_of_mention(self, mention_id: int) -> Claim | None:
        """The claim a mention repeats: an open one first, then the latest."""
        rows = list(
            self._db.query(
                "select c.* from claims c join claim_mentions m on m.claim_id = c.id where m.mention_id = ?"
                " order by c.state = 'closed', c.id desc limit 1",
                [mention_id],
            )
        )
        return _claim(rows[0]) if rows else None

    # Mentions of claims -------------------------------------------------------------------------------------

    def record_mentions(self, found: Iterable[tuple[int, int, str | None]], at: datetime) -> set[int]:
        """Record (claim id, mention id, reach level) rows; the claims that got a new mention."""
        touched: set[int] = set()
        with self._db.atomic():
            for claim_id, mention_id, level in found:
                cursor = self._db.conn.execute(
                    "insert into claim_mentions (claim_id, mention_id, matched_at, level) values (?, ?, ?, ?)"
                    " on conflict do nothing",
                    [claim_id, mention_id, iso(at), level],
                )
                if cursor.rowcount:
                    touched.add(claim_id)
        return touched

    def overflow_of(self, rollup_id: int) -> list[tuple[int, int]]:
        """(card id, mention id) of the poll's mentions past its card limit: stored with its roll-up, at the same
        moment, as `overflow` cards."""
        rows = self._db.execute(
            "select d.id, d.mention_id from deliveries d join deliveries r on r.id = ? and d.created_at = r.created_at"
            " and d.watcher = r.watcher where d.state = 'overflow' and d.channel = r.channel and d.kind = 'card'"
            " order by d.id",
            [rollup_id],
        ).fetchall()
        return [(card_id, mention_id) for card_id, mention_id in rows]

    def withhold(self, card_ids: Sequence[int]) -> None:
        """These pending cards are not posted: their mention is grouped under its claim."""
        for ids in _chunks(list(card_ids), _IDS_PER_STATEMENT):
            self._db.execute(
                f"update deliveries set state = 'grouped' where id in ({', '.join('?' * len(ids))})"
                " and state = 'pending'",
                ids,
            )

    def spread(self, claim: Claim, start: datetime | None = None, end: datetime | None = None) -> ClaimSpread:
        """The claim's mentions matched in [start, end) (all of them without bounds)."""
        where, params = "claim_id = ?", [claim.id]
        if start is not None:
            where, params = where + " and matched_at >= ?", [*params, iso(start)]
        if end is not None:
            where, params = where + " and matched_at < ?", [*params, iso(end)]
        sources = self._db.execute(
            f"select m.source, count(*) from claim_mentions c join mentions m on m.id = c.mention_id where {where}"
            " group by m.source order by count(*) desc, m.source",
            params,
        ).fetchall()
        levels = dict(
            self._db.execute(
                f"select coalesce(level, ''), count(*) from claim_mentions where {where} group by 1", params
            ).fetchall()
        )
        published = iso(claim.correction_published_at) if claim.correction_published_at else None
        (before, after) = self._db.execute(
            "select coalesce(sum(case when ? is null or matched_at < ? then 1 else 0 end), 0),"
            f" coalesce(sum(case when ? is not null and matched_at >= ? then 1 else 0 end), 0) from claim_mentions"
            f" where {where}",
            [published, published, published, published, *params],
        ).fetchone()
        return ClaimSpread(
            mentions=sum(count for _, count in sources),
            by_source=tuple((source, count) for source, count in sources),
            by_level=levels,
            before_correction=before,
            after_correction=after,
        )

    def matched_between(self, claim_id: int, start: datetime, end: datetime) -> int:
        (count,) = self._db.execute(
            "select count(*) from claim_mentions where claim_id = ? and matched_at >= ? and matched_at < ?",
            [claim_id, iso(start), iso(end)],
        ).fetchone()
        return count

    def start_acceleration(self, claim_id: int, at: datetime, unless_since: datetime) -> bool:
        """Note a thread reply about the claim's acceleration, unless one was made since `unless_since`."""
        cursor = self._db.execute(
            "update claims set accelerated_at = ? where id = ? and (accelerated_at is null or accelerated_at < ?)",
            [iso(at), claim_id, iso(unless_since)],
        )
        return cursor.rowcount > 0

    def mentions_matched(self, claim_id: int, since: datetime, limit: int) -> list[ClaimMention]:
        """The claim's mentions matched since `since`, highest reach first (then latest), at most `limit`."""
        rows = self._db.execute(
            "select c.mention_id, c.level, m.author_reach, c.matched_at from claim_mentions c"
            " join mentions m on m.id = c.mention_id where c.claim_id = ? and c.matched_at >= ?"
            " order by case c.level when 'high' then 0 when 'medium' then 1 when 'low' then 2 else 3 end,"
            " coalesce(m.author_reach, -1) desc, c.matched_at desc limit ?",
            [claim_id, iso(since), limit],
        ).fetchall()
        return [ClaimMention(mention_id, level, reach, datetime.fromisoformat(at))
                for mention_id, level, reach, at in rows]

    def claims_with_mentions_between(self, start: datetime, end: datetime) -> list[Claim]:
        """The claims open at some point of [start, end) or matched in it: the digest's."""
        return [
            _claim(row)
            for row in self._db.query(
                "select * from claims c where c.created_at < ? and (c.closed_at is null or c.closed_at >= ?"
                " or exists (select 1 from claim_mentions m where m.claim_id = c.id and m.matched_at >= ?"
                " and m.matched_at < ?)) order by c.id",
                [iso(end), iso(start), iso(start), iso(end)],
            )
        ]

    # The claim's message --------------------------------------------------------------------------------------

    def queue_update(self, claim: Claim, at: datetime) -> bool:
        """Queue one chat.update of the claim's message, unless one is already waiting or the message itself is
        not posted yet (it shows the claim as it is when it goes); True when queued."""
        if claim.message_id is None:
            return False
        with self._db.atomic():
            (state,) = self._db.execute("select state from deliveries where id = ?", [claim.message_id]).fetchone()
            if state in ("pending", "failed"):
                return False
            self._db.execute(
                "delete from deliveries where parent_id = ? and kind = 'update' and state in ('updated', 'failed')",
                [claim.message_id],
            )
            waiting = self._db.execute(
                "select 1 from deliveries where parent_id = ? and kind = 'update' and state = 'pending'",
                [claim.message_id],
            ).fetchone()
            if waiting:
                return False
            self._queue(claim.id, "update", claim.channel, claim.message_id, Priority.CARD, at)
        return True

    def _queue(
        self, claim_id: int, kind: str, channel: str, parent_id: int | None, priority: Priority, at: datetime
    ) -> int:
        cursor = self._db.conn.execute(
            "insert into deliveries (kind, watcher, channel, parent_id, state, attempts, priority, message,"
            " created_at) values (?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
            [kind, CLAIMS_WATCHER, channel, parent_id, priority.value, json.dumps({"claim_id": claim_id}), iso(at)],
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def _claim(row: dict) -> Claim:
    return Claim(
        id=row["id"],
        text=row["text"],
        phrases=tuple(line for line in row["phrases"].split("\n") if line.strip()),
        fingerprint=_unsigned(row["fingerprint"]),
        correction_text=row["correction_text"],
        correction_url=row["correction_url"],
        correction_published_at=_moment(row["correction_published_at"]),
        state=row["state"],
        created_by=row["created_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        closed_by=row["closed_by"],
        closed_at=_moment(row["closed_at"]),
        channel=row["channel"],
        message_id=row["message_id"],
    )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _signed(fingerprint: int | None) -> int | None:
    """SQLite integers are signed 64-bit."""
    if fingerprint is None:
        return None
    return fingerprint - (1 << _FINGERPRINT_BITS) if fingerprint >= 1 << (_FINGERPRINT_BITS - 1) else fingerprint


def _unsigned(stored: int | None) -> int | None:
    if stored is None:
        return None
    return stored + (1 << _FINGERPRINT_BITS) if stored < 0 else stored
