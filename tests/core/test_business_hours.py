from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from veilleur.core.business_hours import OFFICE_HOURS, BusinessHours, PublicHolidays, add_business_time

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Montreal")
ALWAYS = BusinessHours(days=frozenset(range(7)), start=0, end=24 * 60)


def paris(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A moment in Paris in November 2026 (the 20th is a Friday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (paris(20, 17), 4, paris(23, 12)),  # Friday 17:00 + 4 h = Monday 12:00
        (paris(17, 10), 4, paris(17, 14)),  # inside one working day
        (paris(21, 11), 1, paris(23, 10)),  # raised on Saturday: counted from Monday's opening
        (paris(23, 7), 0.5, paris(23, 9, 30)),  # before opening
        (paris(23, 19), 2, paris(24, 11)),  # after closing
        (paris(20, 14), 4, paris(23, 9)),  # runs out at closing time: due at the next opening
        (paris(23, 9), 45, paris(30, 9)),  # a whole working week
    ],
)
def test_adding_business_time(start: datetime, hours: float, expected: datetime) -> None:
    due = add_business_time(start, timedelta(hours=hours), OFFICE_HOURS, PARIS)
    assert due == expected
    assert due.tzinfo == UTC


def test_the_zone_decides_when_the_day_starts() -> None:
    start = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # Friday 22:00 in Paris, 16:00 in Montreal
    assert add_business_time(start, timedelta(hours=1), OFFICE_HOURS, PARIS) == paris(23, 10)
    assert add_business_time(start, timedelta(hours=1), OFFICE_HOURS, MONTREAL) == datetime(
        2026, 11, 20, 17, 0, tzinfo=MONTREAL
    )


def test_a_day_when_the_clocks_change_has_its_real_length() -> None:
    # Paris springs forward on Sunday 29 March 2026: that day has 23 hours.
    saturday_noon = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
    assert add_business_time(saturday_noon, timedelta(hours=24), ALWAYS, PARIS) == datetime(
        2026, 3, 29, 13, 0, tzinfo=PARIS
    )
    # Office hours still open at 09:00 local time the next day, whatever the offset.
    friday_evening = datetime(2026, 3, 27, 17, 0, tzinfo=PARIS)
    assert add_business_time(friday_evening, timedelta(hours=2), OFFICE_HOURS, PARIS) == datetime(
        2026, 3, 30, 10, 0, tzinfo=PARIS
    )


def test_business_hours_contain_opening_time_but_not_closing_time() -> None:
    assert OFFICE_HOURS.contains(paris(20, 9), PARIS)
    assert OFFICE_HOURS.contains(paris(20, 17, 59), PARIS)
    assert not OFFICE_HOURS.contains(paris(20, 18), PARIS)
    assert not OFFICE_HOURS.contains(paris(21, 12), PARIS)  # Saturday
    assert not OFFICE_HOURS.contains(paris(23, 8, 59), PARIS)


@pytest.mark.parametrize(
    ("days", "start", "end"), [(frozenset(), 540, 1080), (frozenset({7}), 540, 1080), (frozenset({0}), 600, 600)]
)
def test_impossible_business_hours_are_refused(days: frozenset[int], start: int, end: int) -> None:
    with pytest.raises(ValueError, match="business"):
        BusinessHours(days=days, start=start, end=end)


def test_public_holidays_have_no_business_time() -> None:
    french = replace(OFFICE_HOURS, holidays=PublicHolidays(("FR",)))
    # Monday 13 July 2026, 17:00 + 4 h: Tuesday is 14 July, so Wednesday 12:00.
    assert add_business_time(paris(13, 17, month=7), timedelta(hours=4), french, PARIS) == paris(15, 12, month=7)
    assert add_business_time(paris(13, 17, month=7), timedelta(hours=4), OFFICE_HOURS, PARIS) == paris(14, 12, month=7)
    assert not french.contains(paris(14, 10, month=7), PARIS)


def test_a_bridge_day_given_as_a_date_has_no_business_time() -> None:
    bridge = replace(OFFICE_HOURS, holidays=PublicHolidays(dates=frozenset({date(2026, 11, 20)})))
    assert add_business_time(paris(19, 17), timedelta(hours=4), bridge, PARIS) == paris(23, 12)
