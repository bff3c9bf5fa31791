"""Business hours: when officials are expected to answer, and durations counted only inside them.

An escalation raised on Friday at 17:00 with a 4-hour reminder delay is reminded on Monday at 12:00 (one hour
on Friday, three on Monday), not on Friday night. Window boundaries are placed in local time and the
arithmetic is done in UTC, so a day on which the clocks change has its real length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """The same daily window on some days of the week, e.g. Monday to Friday, 09:00 to 18:00."""

    days: frozenset[int]  # datetime.weekday() numbers: Monday is 0
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, after `start`; 1440 is the midnight that ends the day

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError(f"business days must be weekday numbers 0-6, got {sorted(self.days)}")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"business hours must start before they end within a day, got {self.start}-{self.end}")

    def windows(self, after: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """Business time from `after` on, as endless (start, end) UTC windows in order; the first may be partial."""
        day = after.astimezone(tz).date()
        while True:
            if day.weekday() in self.days:
                start, end = _local(day, self.start, tz), _local(day, self.end, tz)
                if end > after:
                    yield max(start, after), end
            day += timedelta(days=1)

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        start, _ = next(self.windows(moment, tz))
        return start == moment


OFFICE_HOURS = BusinessHours(days=frozenset(range(5)), start=9 * 60, end=18 * 60)


def add_business_time(moment: datetime, duration: timedelta, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    """The moment `duration` of business time after `moment`, in UTC.

    The result always lies inside business hours: time that runs out exactly at closing time lands on the next
    opening, when someone can act on it.
    """
    windows = hours.windows(moment.astimezone(UTC), tz)
    remaining = duration
    while True:
        start, end = next(windows)
        if start + remaining < end:
            return start + remaining
        remaining -= end - start


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """`minutes` after local midnight on `day`, in UTC (wall-clock arithmetic, so 09:00 stays 09:00 across DST)."""
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    return (midnight + timedelta(minutes=minutes)).astimezone(UTC)
