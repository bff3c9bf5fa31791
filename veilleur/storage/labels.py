"""The labels stored on a mention (migration m015): the model's stance and hostility, and the team's correction.

The effective stance is the team's, else the model's, else the word list's estimate (core/stances.py), which is
never stored. A correction is never overwritten by a model run.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from veilleur.core.hostility import HostileMark, mention_mark
from veilleur.core.mentions import Mention
from veilleur.storage.store import Store


@dataclass(frozen=True, slots=True)
class StoredLabels:
    stance_model: str | None = None
    hostile_model: bool | None = None
    stance_team: str | None = None
    stance_team_by: str | None = None  # a Slack user id
    stance_team_at: str | None = None


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
        return {
            mention_id: StoredLabels(
                stance_model=stance_model,
                hostile_model=None if hostile_model is None else bool(hostile_model),
                stance_team=stance_team,
                stance_team_by=stance_team_by,
                stance_team_at=stance_team_at,
            )
            for mention_id, stance_model, hostile_model, stance_team, stance_team_by, stance_team_at in rows
        }
