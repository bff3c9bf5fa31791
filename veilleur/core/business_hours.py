"""Business hours: when officials are expected to answer, and durations counted only inside them.

An escalation raised on Friday at 17:00 with a 4-hour reminder delay is reminded on Monday at 12:00 (one hour
on Friday, three on Monday), not on Friday night. Window boundaries are placed in local time and the
arithmetic is done in UTC, so a day on which the clocks change has its real length.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """The same daily window on some days of the week, e.g. Monday to Friday, 09:00 to 18:00, except holidays."""

    days: frozenset[int]  # datetime.weekday() numbers: Monday is 0
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, after `start`; 1440 is the midnight that ends the day
    # Local dates with no business time (public holidays: see settings' BUSINESS_HOLIDAYS).
    holidays: Container[date] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError(f"business days must be weekday numbers 0-6, got {sorted(self.days)}")
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"business hours must start before they end within a day, got {self.start}-{self.end}")

    def windows(self, after: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
        """Business time from `after` on, as endless (start, end) UTC windows in order; the first may be partial."""
        day = after.astimezone(tz).date()
        while True:
            if day.weekday() in self.days and day not in self.holidays:
                start, end = _local(day, self.start, tz), _local(day, self.end, tz)
                if end > after:
                    yield max(start, after), end
            day += timedelta(days=1)

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        start, _ = next(self.windows(moment, tz))
        return start == moment


class PublicHolidays:
    """Public holiday calendars of the `holidays` library (a country code, a subdivision after a dash: "FR",
    "FR-57" for Moselle) and single dates (a bridge day), as a container of local dates.

    The library costs about 80 ms to import and build a country: it is loaded on the first question, so commands
    that never count business time (`once`, `status`) do not pay for it. `load()` builds it now, raising
    ValueError for a calendar the library does not know.
    """

    def __init__(self, calendars: tuple[str, ...] = (), dates: frozenset[date] = frozenset()) -> None:
        self.calendars = calendars
        self.dates = dates
        self._loaded: Container[date] | None = None

    def load(self) -> Container[date]:
        if self._loaded is None:
            import holidays

            days = holidays.HolidayBase()
            for calendar in self.calendars:
                country, _, subdivision = calendar.partition("-")
                known = holidays.list_supported_countries()
                if country not in known:
                    raise ValueError(f"{country!r} is not a country code the holidays library knows")
                try:
                    days += holidays.country_holidays(country, subdiv=subdivision or None)
                except NotImplementedError:
                    raise ValueError(
                        f"{subdivision!r} is not a subdivision of {country}: one of {', '.join(known[country])}"
                    ) from None
            self._loaded = days
        return self._loaded

    def __contains__(self, day: object) -> bool:
        return day in self.dates or day in self.load()

    def __repr__(self) -> str:
        return f"PublicHolidays({', '.join(self.calendars) or 'none'}, {len(self.dates)} dates)"


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
