"""Volumes and trends: how many mentions were found in the period, against the previous period and the week.

Per watcher, a mention two watchers found counts for both; the total and the per-source counts count distinct
mentions. Counts come from SQL aggregation (storage/digests.py), so a period of 100,000 mentions costs a few
queries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal

from veilleur.digest.model import Change, DigestPeriod, Volume
from veilleur.storage.digests import FoundMentions

WEEK = timedelta(days=7)
CHART_DAYS = 7


def volumes(
    found: FoundMentions, period: DigestPeriod, group_by: Literal["watcher", "source"] | None, names: Sequence[str]
) -> tuple[Volume, ...]:
    """One Volume per watcher or source (None: one for everything), biggest first; `names` are listed even
    without mentions. Per watcher, each watcher's finds count; otherwise distinct mentions."""
    previous_start = period.start - period.length
    week_start = period.start - WEEK
    windows = [(period.start, period.end), (previous_start, period.start), (week_start, period.start)]
    counts = found.counts(group_by, windows)
    for name in names:
        counts.setdefault(name, (0, 0, 0))
    volumes = [
        Volume(
            name=name,
            count=count,
            previous=previous,
            week=week,
            vs_previous=change(count, Fraction(previous)),
            vs_week=change(count, Fraction(week) * _fraction_of_week(period.length)),
        )
        for name, (count, previous, week) in counts.items()
    ]
    return tuple(sorted(volumes, key=lambda volume: (-volume.count, volume.name)))


def change(count: int, reference: Fraction) -> Change:
    """`count` against `reference` (a count, or an average scaled to the period)."""
    if reference == 0:
        return Change("new", None) if count else Change("flat", 0)
    percent = _round_half_away(Fraction(count - reference) * 100 / reference)
    direction = "up" if percent > 0 else "down" if percent < 0 else "flat"
    return Change(direction, percent)


def _round_half_away(value: Fraction) -> int:
    whole = math.floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


def _fraction_of_week(length: timedelta) -> Fraction:
    return Fraction(_microseconds(length), _microseconds(WEEK))


def _microseconds(duration: timedelta) -> int:
    return (duration.days * 86400 + duration.seconds) * 1_000_000 + duration.microseconds


def daily_volume(
    found: FoundMentions, period: DigestPeriod, names: Sequence[str]
) -> dict[str, list[tuple[date, int]]]:
    """Mentions per watcher and local day, for the 7 days ending with the day the period ends in."""
    tz = period.end.tzinfo or UTC
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    days = [last - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    bounds = [datetime.combine(day, time(), tzinfo=tz) for day in [*days, last + timedelta(days=1)]]
    counts = found.daily_counts(bounds)
    return {name: list(zip(days, counts.get(name, [0] * CHART_DAYS), strict=True)) for name in names}
