"""The labels stored on a mention (migration m015): the model's stance and hostility, and the team's correction.

The effective stance is the team's, else the model's, else the word list's estimate (core/stances.py), which is
never stored. A correction is never overwritten by a model run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from veilleur.core.hostility import HostileMark, mention_mark
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import Stance, effective_stance
from veilleur.storage.store import Store, iso, utcnow

# The labelling starts with the mentions stored this long before its first run: a bounded backfill on upgrade.
BACKFILL = timedelta(hours=24)
# Ids per lookup by external id: within SQLite's limit on parameters.
LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredLabels:
    stance_model: str | None = None
    hostile_model: bool | None = None
    stance_team: str | None = None
    stance_team_by: str | None = None  # a Slack user id
    stance_team_at: str | None = None

    def stance(self, text: str) -> Stance:
        """The mention's effective stance: the team's, else the model's, else the word list's estimate of `text`."""
        return effective_stance(text, team=self.stance_team, model=self.stance_model)


@dataclass(frozen=True, slots=True)
class Unlabelled:
    """A mention the model has not been asked about yet, with the watcher that found it first ("" if none did)."""

    id: int
    watcher: str
    title: str
    text: str
    stance_team: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """One of the team's corrections, as an example for the model."""

    mention_id: int
    watcher: str
    title: str
    text: str
    stance: str


@dataclass(frozen=True, slots=True)
class ModelLabel:
    """What the model answered for one mention; None where its answer held nothing valid."""

    stance: str | None
    hostile: bool | None


class MentionLabels:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    def labels(self, mention_id: int) -> StoredLabels:
        """The labels of one mention; all None for a mention never labelled (or no longer stored)."""
        return self.labels_of([mention_id]).get(mention_id, StoredLabels())

    def hostile_mark(self, mention_id: int, mention: Mention) -> HostileMark | None:
        """Whether the mention's card and /draft treat it as hostile: the model's flag when it labelled the mention
        (its "no" wins over the word list), else the word list's estimate, computed now and never stored."""
        return mention_mark(self.labels(mention_id).hostile_model, mention)

    def labels_of(self, mention_ids: Collection[int]) -> dict[int, StoredLabels]:
        """The labels of these mentions, by id (those still stored)."""
        ids = list(mention_ids)
        if not ids:
            return {}
        rows = self._db.execute(
            "select id, stance_model, hostile_model, stance_team, stance_team_by, stance_team_at from mentions"
            f" where id in ({', '.join('?' for _ in ids)})",
            ids,
        )
        return {mention_id: _stored(*labels) for mention_id, *labels in rows}

    def by_external_id(self, source: str, external_ids: Collection[str]) -> dict[str, StoredLabels]:
        """The labels of the stored mentions of `source` with these external ids (a conversation's posts)."""
        ids = list(dict.fromkeys(external_ids))
        found: dict[str, StoredLabels] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            rows = self._db.execute(
                "select external_id, stance_model, hostile_model, stance_team, stance_team_by, stance_team_at"
                f" from mentions where source = ? and external_id in ({', '.join('?' for _ in part)})",
                [source, *part],
            )
            found.update({external_id: _stored(*labels) for external_id, *labels in rows})
        return found

    # The model's labelling ---------------------------------------------------------------------------------

    def first_to_label(self, now: datetime | None = None) -> int:
        """The first mention id the labelling asks about: set on its first call to the first mention stored within
        BACKFILL of `now` (or the next mention to come), then kept, so that older mentions are never sent."""
        row = self._db.execute("select first_mention_id from labelling_since where id = 1").fetchone()
        if row is not None:
            return int(row[0])
        moment = now or utcnow()
        first = self._first_stored_since(iso(moment - BACKFILL))
        with self._db.atomic():
            self._db.execute(
                "insert or ignore into labelling_since (id, first_mention_id, started_at) values (1, ?, ?)",
                [first, iso(moment)],
            )
        return int(self._db.execute("select first_mention_id from labelling_since where id = 1").fetchone()[0])

    def _first_stored_since(self, cutoff: str) -> int:
        """The smallest id stored at or after `cutoff`, by bisection over ids (they grow with `first_seen_at`): a
        few lookups by primary key however many mentions there are, where a scan would read them all."""
        last = self._db.execute("select max(id) from mentions").fetchone()[0]
        if last is None:
            return 1
        # Ids below `low` were stored before the cutoff; stored ids from `high` on, after it.
        low, high = 1, last + 1
        while low < high:
            middle = (low + high) // 2
            found_id, first_seen_at = self._db.execute(
                "select id, first_seen_at from mentions where id >= ? order by id limit 1", [middle]
            ).fetchone()
            if first_seen_at >= cutoff:
                high = middle
            else:
                low = found_id + 1
        row = self._db.execute("select min(id) from mentions where id >= ?", [low]).fetchone()
        return row[0] if row[0] is not None else last + 1

    def unlabelled(self, since_id: int, limit: int) -> list[Unlabelled]:
        """Up to `limit` mentions from `since_id` on that the model was never asked about, oldest first."""
        rows = self._db.execute(
            "select m.id, coalesce((select d.watcher from deliveries d where d.mention_id = m.id order by d.id"
            " limit 1), ''), coalesce(m.title, ''), coalesce(m.text, ''), m.stance_team from mentions m"
            " where m.labelled_at is null and m.id >= ? order by m.id limit ?",
            [since_id, limit],
        )
        return [Unlabelled(*row) for row in rows]

    def record_model(
        self, asked: Sequence[int], answers: Mapping[int, ModelLabel], now: datetime | None = None
    ) -> list[int]:
        """Mark `asked` as labelled (each is asked once, answered or not) with the model's `answers`; never touches
        the team's correction. Returns the ids whose model stance was set."""
        at = iso(now or utcnow())
        labelled = []
        with self._db.atomic():
            for mention_id in asked:
                answer = answers.get(mention_id, ModelLabel(None, None))
                hostile = None if answer.hostile is None else int(answer.hostile)
                self._db.execute(
                    "update mentions set labelled_at = ?, stance_model = ?, hostile_model = ? where id = ?",
                    [at, answer.stance, hostile, mention_id],
                )
                if answer.stance is not None:
                    labelled.append(mention_id)
        return labelled

    # The team's corrections --------------------------------------------------------------------------------

    def correct(self, mention_id: int, stance: str, user: str, now: datetime | None = None) -> None:
        """The team's stance for the mention, which wins over the model's from now on."""
        with self._db.atomic():
            self._db.execute(
                "update mentions set stance_team = ?, stance_team_by = ?, stance_team_at = ? where id = ?",
                [stance, user, iso(now or utcnow()), mention_id],
            )

    def recent_corrections(self, limit: int) -> list[Correction]:
        """The team's `limit` latest corrections, newest first."""
        rows = self._db.execute(
            "select m.id, coalesce((select d.watcher from deliveries d where d.mention_id = m.id order by d.id"
            " limit 1), ''), coalesce(m.title, ''), coalesce(m.text, ''), m.stance_team from mentions m"
            " where m.stance_team is not null order by m.stance_team_at desc limit ?",
            [limit],
        )
        return [Correction(*row) for row in rows]

    def corrected_between(self, start: datetime, end: datetime, watchers: Collection[str] | None = None) -> int:
        """How many mentions the team corrected in [start, end), of those `watchers` found (None: any)."""
        query = (
            "select count(*) from mentions m where m.stance_team is not null and m.stance_team_at >= ?"
            " and m.stance_team_at < ?"
        )
        params: list[object] = [iso(start), iso(end)]
        if watchers is not None:
            names = list(watchers)
            if not names:
                return 0
            query += (
                " and exists (select 1 from deliveries d where d.mention_id = m.id"
                f" and d.watcher in ({', '.join('?' for _ in names)}))"
            )
            params += names
        return int(self._db.execute(query, params).fetchone()[0])


def _stored(
    stance_model: str | None,
    hostile_model: int | None,
    stance_team: str | None,
    stance_team_by: str | None,
    stance_team_at: str | None,
) -> StoredLabels:
    return StoredLabels(
        stance_model=stance_model,
        hostile_model=None if hostile_model is None else bool(hostile_model),
        stance_team=stance_team,
        stance_team_by=stance_team_by,
        stance_team_at=stance_team_at,
    )
