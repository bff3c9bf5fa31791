"""Digests in SQLite: which digests went to the outbox and their charts (see digest/delivery.py), and the counts
and samples a digest is computed from (see digest/found.py, volumes.py and top_mentions.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from veilleur.core.mentions import REACH_PER_INTERACTION
from veilleur.storage.store import Priority, Store, iso

# The outbox row's `watcher` label: not a valid watcher name, so never counted as one.
DIGEST_WATCHER = "(digest)"


@dataclass(frozen=True)
class PendingChart:
    digest_id: int
    delivery_id: int
    channel: str
    png: bytes
    period_end: datetime


class DigestLog:
    """The `digests` table: which digests went to the outbox, and their charts."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store._db

    def has_scheduled(self, channel: str, period_end: datetime) -> bool:
        rows = self._db.query(
            "select 1 from digests where kind = 'scheduled' and channel = ? and period_end = ?",
            [channel, iso(period_end)],
        )
        return next(iter(rows), None) is not None

    def queue(
        self,
        kind: str,
        channel: str,
        period_start: datetime,
        period_end: datetime,
        message: dict[str, Any],
        chart: bytes | None,
        now: datetime,
    ) -> int | None:
        """Record the digest and put its message in the outbox, in one transaction; None when a scheduled digest
        of this channel and period is already recorded."""
        try:
            with self._db.atomic():
                table = self._db["digests"]
                table.insert(
                    {
                        "kind": kind,
                        "channel": channel,
                        "period_start": iso(period_start),
                        "period_end": iso(period_end),
                        "created_at": iso(now),
                        "chart": chart,
                        "chart_state": "pending" if chart else "none",
                    }
                )
                digest_id = table.last_pk
                delivery_id = self._store.queue_notice(
                    DIGEST_WATCHER, channel, message, now, priority=Priority.DIGEST
                )
                table.update(digest_id, {"delivery_id": delivery_id})
        except sqlite3.IntegrityError:
            return None
        return digest_id

    def pending_charts(self) -> list[PendingChart]:
        rows = self._db.query(
            "select id, delivery_id, channel, chart, period_end from digests where chart_state = 'pending' order by id"
        )
        return [
            PendingChart(row["id"], row["delivery_id"], row["channel"], row["chart"],
                         datetime.fromisoformat(row["period_end"]))
            for row in rows
        ]

    def pending_chart(self, digest_id: int) -> PendingChart | None:
        return next((chart for chart in self.pending_charts() if chart.digest_id == digest_id), None)

    def claim_chart(self, digest_id: int) -> bool:
        """Move a pending chart to `uploading`; False when another task already took it."""
        with self._db.atomic():
            cursor = self._db.execute(
                "update digests set chart_state = 'uploading' where id = ? and chart_state = 'pending'", [digest_id]
            )
        return cursor.rowcount == 1

    def mark_chart(self, digest_id: int, state: str, file_id: str | None = None) -> None:
        with self._db.atomic():
            self._db["digests"].update(digest_id, {"chart_state": state, "chart_file_id": file_id})

    def ran_before(self, moment: datetime) -> bool:
        """Whether any watcher had polled before `moment`: a fresh install has nothing to catch up."""
        row = next(self._db.query("select min(first_polled_at) as first from watcher_state"))
        return row["first"] is not None and row["first"] < iso(moment)


_ENGAGEMENT_SQL = "coalesce((select sum(value) from json_each(m.engagement) where type = 'integer'), 0)"
_SCORE_SQL = f"({_ENGAGEMENT_SQL} + max(coalesce(m.author_reach, 0), 0) / {REACH_PER_INTERACTION})"
# Multiplicative hashing of ids: a deterministic order that spreads the sample over the whole period.
_SPREAD_SQL = "(m.id * 2654435761) % 4294967296"
_GROUP_KEYS = {"watcher": "d.watcher", "source": "m.source"}


@dataclass(frozen=True, slots=True)
class FoundMention:
    mention_id: int
    found_by: str  # the first watcher's name, alphabetically, when several found it


class FoundMentions:
    """The mentions found by the watchers in scope: cards not recorded quietly, dated by when found."""

    def __init__(self, store: Store, watchers: Sequence[str]) -> None:
        self._db = store._db
        self._watchers = list(watchers)
        placeholders = ", ".join("?" for _ in self._watchers) or "null"
        # "+d.watcher": not by the watcher index, whose every row would be read, but by the creation date's.
        self._where = f"d.kind = 'card' and d.state != 'quiet' and +d.watcher in ({placeholders})"

    def counts(
        self, group_by: Literal["watcher", "source"] | None, windows: Sequence[tuple[datetime, datetime]]
    ) -> dict[str, tuple[int, ...]]:
        """How many were found in each [start, end) window, per watcher, per source, or in all (under "").
        Per watcher, each watcher's finds count; otherwise distinct mentions."""
        key = _GROUP_KEYS[group_by] if group_by else None
        in_range = "case when d.created_at >= ? and d.created_at < ? then {} end"
        if group_by == "watcher":
            column = f"count({in_range.format('d.id')})"
        else:
            column = f"count(distinct {in_range.format('d.mention_id')})"
        columns = ", ".join(f"{column} as w{index}" for index in range(len(windows)))
        params = [iso(moment) for window in windows for moment in window]
        rows = self._query(
            f"{key or 'null'} as name, {columns}",
            min(start for start, _ in windows),
            max(end for _, end in windows),
            f"group by {key}" if key else "",
            params,
        )
        return {row["name"] or "": tuple(row[f"w{index}"] for index in range(len(windows))) for row in rows}

    def daily_counts(self, bounds: Sequence[datetime]) -> dict[str, list[int]]:
        """Per watcher, how many it found between each pair of consecutive `bounds` (the days of a chart)."""
        days = len(bounds) - 1
        sums = ", ".join(f"sum(d.created_at >= ? and d.created_at < ?) as day{index}" for index in range(days))
        params = [iso(moment) for pair in pairwise(bounds) for moment in pair]
        rows = self._query(f"d.watcher as watcher, {sums}", bounds[0], bounds[-1], "group by d.watcher", params)
        return {row["watcher"]: [row[f"day{index}"] or 0 for index in range(days)] for row in rows}

    def best_scored(self, start: datetime, end: datetime, limit: int) -> list[FoundMention]:
        """The distinct mentions found in [start, end) with the highest score (ties: the earliest stored first)."""
        return self._found(
            f"m.id as id, min(d.watcher) as found_by, {_SCORE_SQL} as score",
            start, end, "group by m.id order by score desc, m.id limit ?", [limit],
        )

    def spread_over(self, start: datetime, end: datetime, limit: int) -> list[FoundMention]:
        """Up to `limit` distinct mentions found in [start, end), spread over the period whatever its volume."""
        return self._found(
            f"m.id as id, min(d.watcher) as found_by, {_SPREAD_SQL} as spread",
            start, end, "group by m.id order by spread, m.id limit ?", [limit],
        )

    def hostile_candidates(self, start: datetime, end: datetime) -> tuple[int, list[tuple[str | None, str]]]:
        """How many distinct mentions found in [start, end) the model flagged hostile, and the (title, text) of those
        it never labelled, for the word list to estimate."""
        rows = self._query(
            "m.id as id, m.hostile_model as flag, case when m.hostile_model is null then m.title end as title,"
            " case when m.hostile_model is null then m.text end as text",
            start, end, "and (m.hostile_model is null or m.hostile_model = 1) group by m.id",
        )
        flagged = sum(1 for row in rows if row["flag"] == 1)
        return flagged, [(row["title"], row["text"] or "") for row in rows if row["flag"] is None]

    def _found(
        self, select: str, start: datetime, end: datetime, tail: str, params: Sequence[Any]
    ) -> list[FoundMention]:
        return [FoundMention(row["id"], row["found_by"]) for row in self._query(select, start, end, tail, params)]

    def _query(self, select: str, start: datetime, end: datetime, tail: str = "",
               params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """`select` over the found mentions in [start, end); `params` fill placeholders in `select` then `tail`."""
        sql = (
            f"select {select} from deliveries d join mentions m on m.id = d.mention_id"
            f" where {self._where} and d.created_at >= ? and d.created_at < ? {tail}"
        )
        select_marks = select.count("?")
        values = [*params[:select_marks], *self._watchers, iso(start), iso(end), *params[select_marks:]]
        return list(self._db.query(sql, values))
