"""What the store holds about given mentions, for a person's access request (GDPR art. 15; see privacy/export.py).

Read-only lookups, one per question, over the mentions `AuthorRecords.mention_ids` found. Each returns rows as
plain dicts keyed by column, decoded (JSON columns as objects), with `mention_id` to group them by. A mention is
returned with every column it has, so a column added later is in the export without a change here; the Slack
cards, story places and escalations carry what concerns the author, not the team members' ids or the copies of
the card's text (the mention's own fields hold that text).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from veilleur.storage.store import Store, _chunks

# Row ids per statement, well under SQLite's 32,766 parameters.
_IDS_PER_STATEMENT = 500
Row = dict[str, Any]


class SubjectAccess:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    def mentions(self, mention_ids: Sequence[int]) -> list[Row]:
        """Every column of these mentions, in the order of `mention_ids`, but who corrected a stance: a team
        member, whose Slack id is not the author's to see (as for a dismissed card, only that it was)."""
        rows = {row["id"]: row for row in self._rows("select * from mentions where id in ({ids})", mention_ids)}
        for row in rows.values():
            row["engagement"] = json.loads(row["engagement"]) if row["engagement"] else {}
            row.pop("stance_team_by", None)
            if row.get("hostile_model") is not None:
                row["hostile_model"] = bool(row["hostile_model"])
        return [rows[mention_id] for mention_id in mention_ids if mention_id in rows]

    def cards(self, mention_ids: Sequence[int]) -> list[Row]:
        """Where each mention was put in Slack: one card per watcher that found it (`quiet` and `overflow` ones were
        never posted)."""
        return self._rows(
            "select mention_id, watcher, channel, state, slack_ts, thread_ts, created_at, posted_at,"
            " dismissed_by is not null as dismissed, dismissed_at from deliveries"
            " where kind = 'card' and mention_id in ({ids}) order by mention_id, id",
            mention_ids,
            booleans=("dismissed",),
        )

    def story_places(self, mention_ids: Sequence[int]) -> list[Row]:
        """The stories these mentions' cards belong to, and whether each story was flagged as a possible
        coordinated campaign (an inference about its authors)."""
        return self._rows(
            "select m.mention_id, m.story_id, m.channel, m.author, m.joined_by, m.at as joined_at,"
            " s.campaign_at, s.campaign_posts, s.campaign_authors"
            " from story_members m join stories s on s.id = m.story_id"
            " where m.mention_id in ({ids}) order by m.mention_id, m.card_id",
            mention_ids,
        )

    def false_claims(self, mention_ids: Sequence[int]) -> list[Row]:
        """The false claims the team follows that these mentions were found to repeat (watching/claims.py): an
        inference about the post the person may contest, with the correction the team holds up against it."""
        return self._rows(
            "select cm.mention_id, c.id as claim_id, c.text as claim, c.state, cm.matched_at, c.correction_text,"
            " c.correction_url from claim_mentions cm join claims c on c.id = cm.claim_id"
            " where cm.mention_id in ({ids}) order by cm.mention_id, c.id",
            mention_ids,
        )

    def escalations(self, mention_ids: Sequence[int]) -> list[Row]:
        """The escalations of these mentions to officials, with the answers and notes written about them."""
        rows = self._rows(
            "select id, mention_id, state, officials, created_at, acknowledged_at, answered_at, answer, finished_at,"
            " reason from escalations where mention_id in ({ids}) order by mention_id, id",
            mention_ids,
        )
        notes = self._notes([row["id"] for row in rows])
        for row in rows:
            row["officials"] = json.loads(row["officials"])
            row["notes"] = notes.get(row["id"], [])
        return rows

    def _notes(self, escalation_ids: Sequence[int]) -> dict[int, list[Row]]:
        found: dict[int, list[Row]] = {}
        for row in self._rows(
            "select escalation_id, note, via, at from escalators where note is not null"
            " and escalation_id in ({ids}) order by at, rowid",
            escalation_ids,
        ):
            found.setdefault(row.pop("escalation_id"), []).append(row)
        return found

    def _rows(self, sql: str, ids: Sequence[int], *, booleans: Sequence[str] = ()) -> list[Row]:
        return list(self._each(sql, ids, booleans))

    def _each(self, sql: str, ids: Sequence[int], booleans: Sequence[str]) -> Iterator[Row]:
        for chunk in _chunks(list(ids), _IDS_PER_STATEMENT):
            statement = sql.format(ids=", ".join("?" for _ in chunk))
            for row in self._db.query(statement, chunk):
                yield row | {name: bool(row[name]) for name in booleans}
