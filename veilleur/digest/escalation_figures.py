"""The digest's escalation figures: opened, answered and still waiting in the period, the oldest waiting ones,
and the median time to answer."""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable

from veilleur.digest.model import DigestPeriod, EscalationFigures, OpenEscalation
from veilleur.slack.cards import mention_excerpt
from veilleur.storage.escalations import Escalation, EscalationStore
from veilleur.storage.store import Store


def escalation_figures(
    store: Store, period: DigestPeriod, watchers: Collection[str] | None, top: int
) -> EscalationFigures:
    """Escalations of the watchers in scope (all of them, unattributed ones included, when `watchers` is None)."""
    escalations = EscalationStore(store)

    def in_scope(found: Iterable[Escalation]) -> list[Escalation]:
        return [e for e in found if watchers is None or e.watcher in watchers]

    opened = in_scope(escalations.created_between(period.start, period.end))
    answered = in_scope(escalations.answered_between(period.start, period.end))
    waiting = in_scope(escalations.awaiting_answer_at(period.end))
    waits = [e.answered_at - e.created_at for e in answered if e.answered_at is not None]
    return EscalationFigures(
        opened=len(opened),
        answered=len(answered),
        still_open=len(waiting),
        oldest_open=tuple(
            OpenEscalation(e, period.end - e.created_at, mention_excerpt(store.mention(e.mention_id)))
            for e in waiting[:top]
        ),
        median_to_answer=statistics.median(waits) if waits else None,
    )
