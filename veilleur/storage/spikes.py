"""Spike alerts in SQLite (see watching/spikes.py): the time each counted card's mention happened, the alerts
raised (their cooldown survives a restart), and the last hour's mentions an alert describes.

A card's time is copied once into `spike_times`, by delivery id, so that an hour's count is an index range
whatever the volume; `spike_progress` holds the last delivery id copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from veilleur.core.mentions import Mention
from veilleur.storage.store import Store, iso, mention_from_row

# Mentions are counted at the time they were published, never later than first seen (see watching/spikes.py).
_EVENT_TIME = "min(coalesce(m.created_at, m.first_seen_at), m.first_seen_at)"
_IN_WINDOW = "from spike_times s where s.watcher = ? and s.t > ? and s.t <= ?"
_RECENT = (
    "from spike_times s join deliveries d on d.id = s.delivery_id join mentions m on m.id = d.mention_id"
    " where s.watcher = ? and s.t > ? and s.t <= ?"
)


@dataclass(frozen=True, slots=True)
class CountedMention:
    id: int
    mention: Mention
    at: datetime  # when it counts (see _EVENT_TIME)


class SpikeRecords:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store._db

    # Counted times ----------------------------------------------------------------------------------------

    def copy_card_times(self, limit: int | None = None) -> int:
        """Copy the time of every card made since the last call (of the next `limit` deliveries at most) into
        `spike_times`; returns how many were added.

        Left out: quiet cards and the rest of a watcher's first poll (its backfill), the backlog it found on arrival.
        """
        last, top = self._progress()
        if top <= last:
            return 0
        if limit is not None:
            top = min(top, last + limit)
        with self._db.atomic():
            cursor = self._db.execute(
                f"""
                insert or ignore into spike_times (delivery_id, watcher, t)
                select d.id, d.watcher, {_EVENT_TIME}
                from deliveries d
                join mentions m on m.id = d.mention_id
                join watcher_state w on w.name = d.watcher
                where d.id > ? and d.id <= ? and d.kind = 'card' and d.state != 'quiet'
                  and d.created_at > w.first_polled_at
                """,
                [last, top],
            )
            self._db.execute(
                "insert into spike_progress (id, last_delivery_id) values (1, ?)"
                " on conflict (id) do update set last_delivery_id = excluded.last_delivery_id",
                [top],
            )
        return cursor.rowcount

    def times_behind(self) -> bool:
        """Whether deliveries were made since the last copy."""
        last, top = self._progress()
        return top > last

    def forget_times(self, watcher: str, before: datetime) -> None:
        """Drop the times no baseline will read again."""
        with self._db.atomic():
            self._db.execute("delete from spike_times where watcher = ? and t <= ?", [watcher, iso(before)])

    def count_between(self, watcher: str, start: datetime, end: datetime) -> int:
        """The watcher's counted mentions in (start, end]."""
        (count,) = self._db.execute(f"select count(*) {_IN_WINDOW}", [watcher, iso(start), iso(end)]).fetchone()
        return count

    def counts_in(self, watcher: str, windows: list[tuple[datetime, datetime]]) -> list[int]:
        """`count_between` for each window, in one statement."""
        columns = ", ".join(f"(select count(*) {_IN_WINDOW})" for _ in windows)
        parameters = [value for start, end in windows for value in (watcher, iso(start), iso(end))]
        return list(self._db.execute(f"select {columns}", parameters).fetchone())

    def _progress(self) -> tuple[int, int]:
        """The last delivery id copied into spike_times, and the last delivery id."""
        (last,) = self._db.execute("select coalesce(max(last_delivery_id), 0) from spike_progress").fetchone()
        (top,) = self._db.execute("select coalesce(max(id), 0) from deliveries").fetchone()
        return last, top

    # What the last hour's mentions were -----------------------------------------------------------------

    def sources_between(self, watcher: str, start: datetime, end: datetime) -> list[tuple[str, int]]:
        """How many counted mentions in (start, end] each source gave, most first."""
        rows = self._db.execute(
            f"select m.source, count(*) as n {_RECENT} group by m.source order by n desc, m.source",
            [watcher, iso(start), iso(end)],
        )
        return [(source, count) for source, count in rows]

    def most_reached(self, watcher: str, start: datetime, end: datetime, limit: int) -> list[CountedMention]:
        """The counted mentions in (start, end) whose authors reach the most people (then the latest)."""
        rows = self._db.query(
            f"select m.*, s.t as t {_RECENT} order by m.author_reach is null, m.author_reach desc, s.t desc"
            f" limit {int(limit)}",
            [watcher, iso(start), iso(end)],
        )
        return [_counted(row) for row in rows]

    # Alerts ----------------------------------------------------------------------------------------------

    def last_alert_at(self, watcher: str) -> datetime | None:
        (at,) = self._db.execute("select max(at) from spikes where watcher = ?", [watcher]).fetchone()
        return datetime.fromisoformat(at) if at else None

    def record_alert(
        self,
        *,
        watcher: str,
        channel: str,
        at: datetime,
        recent: int,
        baseline: float,
        baseline_days: int,
        message: dict[str, Any],
        not_before: datetime | None,
        summary_by: str,
    ) -> tuple[int, int]:
        """Record the alert (it starts the watcher's cooldown, even across a restart) and queue its message, in one
        transaction; returns the spike's id and the notice's delivery id."""
        with self._db.atomic():
            table = self._db["spikes"]
            table.insert(
                {
                    "watcher": watcher,
                    "channel": channel,
                    "at": iso(at),
                    "recent": recent,
                    "baseline": baseline,
                    "baseline_days": baseline_days,
                }
            )
            spike_id = table.last_pk
            notice_id = self._store.queue_notice(watcher, channel, message, not_before=not_before)
            table.update(spike_id, {"notice_id": notice_id, "summary_by": summary_by})
        return spike_id, notice_id

    def record_summary_by(self, spike_id: int, summary_by: str) -> None:
        """Who wrote the alert's summary in the end: "llm", or why the extractive one stayed."""
        with self._db.atomic():
            self._db["spikes"].update(spike_id, {"summary_by": summary_by})


def _counted(row: dict[str, Any]) -> CountedMention:
    return CountedMention(id=row["id"], mention=mention_from_row(row), at=datetime.fromisoformat(row["t"]))
