"""The digest's source health: the watchers whose polls failed in the period, or that are failing now."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from veilleur.digest.model import DigestPeriod, SourceFailure
from veilleur.storage.store import PollFailure, Store


def source_failures(store: Store, period: DigestPeriod, watchers: Collection[str]) -> tuple[SourceFailure, ...]:
    """Watchers with failed polls in the period, and those failing now even without one recorded in it."""
    polls: dict[str, list[PollFailure]] = defaultdict(list)
    for failure in store.poll_failures(period.start, period.end):
        if failure.watcher in watchers:
            polls[failure.watcher].append(failure)
    lines = []
    for name in watchers:
        status = store.watcher_status(name)
        failing = status.consecutive_failures > 0
        if not polls[name] and not failing:
            continue
        last = polls[name][-1] if polls[name] else None
        lines.append(
            SourceFailure(
                watcher=name,
                failures=len(polls[name]),
                last_error=last.error if last else status.last_error or "",
                last_at=last.at if last else _moment(status.last_error_at),
                still_failing=failing,
                failing_since=_moment(status.failing_since) if failing else None,
                last_problem=last.problem if last else status.problem,
            )
        )
    return tuple(sorted(lines, key=lambda line: (not line.still_failing, -line.failures, line.watcher)))


def unpolled(store: Store, watchers: Collection[str]) -> tuple[str, ...]:
    """Watchers that have not been polled yet (just added, or the bot never ran): the digest must not say they
    worked."""
    return tuple(
        name
        for name in watchers
        if (status := store.watcher_status(name)).first_polled_at is None and status.last_error is None
    )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
