"""Escalations in SQLite: who raised them, who they went to, where they stand, and every transition.

An escalation moves `open` → `acknowledged` → `answered` → `closed`, or ends early as `not_ours` or
`dismissed` (with a reason). A mention has at most one escalation in progress (a partial unique index makes
sure of it); once that one is finished, a new one may be raised. Each change is one transaction and is
recorded in `escalation_events` with who, when and what.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from veilleur.storage.store import Store, iso

IN_PROGRESS = ("open", "acknowledged", "answered")


@dataclass(frozen=True, slots=True)
class Escalator:
    user: str
    via: str  # reaction, command, shortcut or button
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """How long the escalation waited, from when it was raised, for each step (None: not reached)."""

    to_acknowledge: timedelta | None
    to_answer: timedelta | None
    to_close: timedelta | None


@dataclass(frozen=True, slots=True)
class EscalationEvent:
    action: str  # escalated, joined, noted, acknowledged, answered, closed, not_ours, dismissed, reminded
    user: str | None
    at: datetime
    detail: str | None


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    mention_id: int
    card_id: int | None
    watcher: str | None
    state: str
    officials: tuple[str, ...]
    escalators: tuple[Escalator, ...]
    created_at: datetime
    channel: str  # where the escalation's message is
    thread_ts: str | None = None  # set when the escalation is posted in its card's thread
    message_ts: str | None = None
    permalink: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer: str | None = None
    finished_at: datetime | None = None
    finished_by: str | None = None
    reason: str | None = None
    reminders_sent: int = 0
    next_reminder_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.state in IN_PROGRESS

    @property
    def owners(self) -> tuple[str, ...]:
        """Who has it in hand: the person who took it up, else the officials it was sent to."""
        return (self.acknowledged_by,) if self.acknowledged_by else self.officials

    def response_times(self) -> ResponseTimes:
        def since_raised(moment: datetime | None) -> timedelta | None:
            return moment - self.created_at if moment is not None else None

        return ResponseTimes(
            since_raised(self.acknowledged_at), since_raised(self.answered_at), since_raised(self.finished_at)
        )


class TransitionRefused(Exception):
    """The escalation is no longer in a state that allows this step (someone else was quicker)."""

    def __init__(self, escalation: Escalation) -> None:
        super().__init__(f"escalation {escalation.id} is {escalation.state}")
        self.escalation = escalation


class EscalationStore:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    # Reading ----------------------------------------------------------------------------------------------

    def get(self, escalation_id: int) -> Escalation | None:
        rows = list(self._db.query("select * from escalations where id = ?", [escalation_id]))
        return self._escalation(rows[0]) if rows else None

    def latest_for_mention(self, mention_id: int) -> Escalation | None:
        rows = list(
            self._db.query(
                "select * from escalations where mention_id = ? order by created_at desc, id desc limit 1", [mention_id]
            )
        )
        return self._escalation(rows[0]) if rows else None

    def answered_for_mention(self, mention_id: int) -> Escalation | None:
        """The latest escalation of the mention that got an official's answer (for drafting a reply)."""
        rows = list(
            self._db.query(
                "select * from escalations where mention_id = ? and answer is not null"
                " order by answered_at desc, id desc limit 1",
                [mention_id],
            )
        )
        return self._escalation(rows[0]) if rows else None

    def in_progress(self) -> list[Escalation]:
        """Escalations not yet closed or dismissed, oldest first."""
        placeholders = ", ".join("?" for _ in IN_PROGRESS)
        return self._many(
            f"select * from escalations where state in ({placeholders}) order by created_at, id", IN_PROGRESS
        )

    def created_between(self, start: datetime, end: datetime) -> list[Escalation]:
        """Escalations raised in [start, end), oldest first: what a digest counts."""
        return self._many(
            "select * from escalations where created_at >= ? and created_at < ? order by created_at, id",
            [iso(start), iso(end)],
        )

    def answered_between(self, start: datetime, end: datetime) -> list[Escalation]:
        """Escalations answered in [start, end), whenever they were raised, in order of answer."""
        return self._many(
            "select * from escalations where answered_at >= ? and answered_at < ? order by answered_at, id",
            [iso(start), iso(end)],
        )

    def awaiting_answer_at(self, moment: datetime) -> list[Escalation]:
        """Escalations raised before `moment` and, at `moment`, neither answered nor finished: oldest first."""
        return self._many(
            "select * from escalations where created_at < ?"
            " and (answered_at is null or answered_at >= ?) and (finished_at is null or finished_at >= ?)"
            " order by created_at, id",
            [iso(moment)] * 3,
        )

    def unposted(self) -> list[Escalation]:
        """Escalations whose message Slack has not accepted yet (it failed, or the bot stopped meanwhile)."""
        return self._many("select * from escalations where message_ts is null order by id", [])

    def due_reminders(self, now: datetime) -> list[Escalation]:
        return self._many(
            "select * from escalations where state = 'open' and next_reminder_at <= ? order by next_reminder_at, id",
            [iso(now)],
        )

    def events(self, escalation_id: int) -> list[EscalationEvent]:
        return [
            EscalationEvent(row["action"], row["user_id"], datetime.fromisoformat(row["at"]), row["detail"])
            for row in self._db.query(
                "select * from escalation_events where escalation_id = ? order by id", [escalation_id]
            )
        ]

    # Writing ----------------------------------------------------------------------------------------------

    def create(
        self,
        mention_id: int,
        *,
        card_id: int | None,
        watcher: str | None,
        channel: str,
        thread_ts: str | None,
        officials: Iterable[str],
        user: str,
        via: str,
        note: str | None,
        now: datetime,
        next_reminder_at: datetime | None,
    ) -> Escalation:
        with self._db.atomic():
            table = self._db["escalations"]
            table.insert(
                {
                    "mention_id": mention_id,
                    "card_id": card_id,
                    "watcher": watcher,
                    "state": "open",
                    "officials": json.dumps(list(dict.fromkeys(officials))),
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "created_at": iso(now),
                    "reminders_sent": 0,
                    "next_reminder_at": iso(next_reminder_at) if next_reminder_at else None,
                }
            )
            escalation_id = table.last_pk
            self._insert_escalator(escalation_id, user, via, note, now)
            self._event(escalation_id, "escalated", user, now, note)
        return self._require(escalation_id)

    def join(
        self, escalation_id: int, *, user: str, via: str, note: str | None, officials: Iterable[str], now: datetime
    ) -> bool:
        """Add a person who escalates the same mention again, their note and the officials they named.

        Returns False when nothing changed: a retried event, or a second reaction by the same person.
        """
        escalation = self._require(escalation_id)
        added = [official for official in officials if official not in escalation.officials]
        known = next((e for e in escalation.escalators if e.user == user), None)
        if known is not None and not added and (note is None or note == known.note):
            return False
        with self._db.atomic():
            if known is None:
                self._insert_escalator(escalation_id, user, via, note, now)
                self._event(escalation_id, "joined", user, now, note)
            else:
                if note is not None:
                    self._db["escalators"].update((escalation_id, user), {"note": note})
                self._event(escalation_id, "noted", user, now, note)
            if added:
                self._update(escalation_id, officials=json.dumps([*escalation.officials, *added]))
        return True

    def transition(
        self,
        escalation_id: int,
        action: str,
        *,
        allowed_from: Iterable[str],
        user: str,
        now: datetime,
        detail: str | None = None,
        **values: Any,
    ) -> Escalation:
        """Record one step of the lifecycle, if the escalation is still in one of `allowed_from`."""
        escalation = self._require(escalation_id)
        if escalation.state not in allowed_from:
            raise TransitionRefused(escalation)
        with self._db.atomic():
            self._update(escalation_id, **values)
            self._event(escalation_id, action, user, now, detail)
        return self._require(escalation_id)

    def record_message(self, escalation_id: int, *, message_ts: str, permalink: str | None) -> None:
        with self._db.atomic():
            self._update(escalation_id, message_ts=message_ts, permalink=permalink)

    def record_reminder(self, escalation_id: int, *, now: datetime, next_reminder_at: datetime | None) -> Escalation:
        escalation = self._require(escalation_id)
        with self._db.atomic():
            self._update(
                escalation_id,
                reminders_sent=escalation.reminders_sent + 1,
                next_reminder_at=next_reminder_at,
            )
            self._event(escalation_id, "reminded", None, now, None)
        return self._require(escalation_id)

    # Rows ---------------------------------------------------------------------------------------------------

    def _require(self, escalation_id: int) -> Escalation:
        escalation = self.get(escalation_id)
        if escalation is None:
            raise KeyError(escalation_id)
        return escalation

    def _insert_escalator(self, escalation_id: int, user: str, via: str, note: str | None, now: datetime) -> None:
        self._db["escalators"].insert(
            {"escalation_id": escalation_id, "user_id": user, "via": via, "note": note, "at": iso(now)}
        )

    def _event(self, escalation_id: int, action: str, user: str | None, now: datetime, detail: str | None) -> None:
        self._db["escalation_events"].insert(
            {"escalation_id": escalation_id, "action": action, "user_id": user, "at": iso(now), "detail": detail}
        )

    def _update(self, escalation_id: int, **values: Any) -> None:
        stored = {key: iso(value) if isinstance(value, datetime) else value for key, value in values.items()}
        self._db["escalations"].update(escalation_id, stored)

    def _many(self, sql: str, params: Iterable[Any]) -> list[Escalation]:
        return [self._escalation(row) for row in self._db.query(sql, list(params))]

    def _escalation(self, row: dict[str, Any]) -> Escalation:
        escalators = tuple(
            Escalator(r["user_id"], r["via"], r["note"], datetime.fromisoformat(r["at"]))
            for r in self._db.query(
                "select * from escalators where escalation_id = ? order by at, rowid", [row["id"]]
            )
        )
        return Escalation(
            id=row["id"],
            mention_id=row["mention_id"],
            card_id=row["card_id"],
            watcher=row["watcher"],
            state=row["state"],
            officials=tuple(json.loads(row["officials"])),
            escalators=escalators,
            created_at=datetime.fromisoformat(row["created_at"]),
            channel=row["channel"],
            thread_ts=row["thread_ts"],
            message_ts=row["message_ts"],
            permalink=row["permalink"],
            acknowledged_at=_moment(row["acknowledged_at"]),
            acknowledged_by=row["acknowledged_by"],
            answered_at=_moment(row["answered_at"]),
            answered_by=row["answered_by"],
            answer=row["answer"],
            finished_at=_moment(row["finished_at"]),
            finished_by=row["finished_by"],
            reason=row["reason"],
            reminders_sent=row["reminders_sent"] or 0,
            next_reminder_at=_moment(row["next_reminder_at"]),
        )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
