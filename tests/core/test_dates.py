"""The customer's calendar: a moment is a date in the customer's time zone, and months are
counted from their 1st."""

import datetime

import pytest

from core.dates import last_of_month, local_date, previous_month

UTC = datetime.UTC


@pytest.mark.parametrize(
    ("moment", "time_zone", "expected"),
    [
        # 23:30 UTC on 31 October is already 1 November in Stockholm (UTC+1 after DST ends).
        (datetime.datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "Europe/Stockholm", "2026-11-01"),
        # ...and still 31 October in New York (UTC-4 until 1 November).
        (datetime.datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "America/New_York", "2026-10-31"),
        # 03:00 UTC on 1 March is 28 February in Los Angeles (UTC-8).
        (datetime.datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "America/Los_Angeles", "2026-02-28"),
        (datetime.datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "UTC", "2026-03-01"),
    ],
)
def test_a_moment_is_read_on_the_customers_own_calendar(moment, time_zone, expected):
    assert local_date(moment, time_zone).isoformat() == expected


@pytest.mark.parametrize(
    ("day", "last", "previous"),
    [
        ("2026-02-14", "2026-02-28", "2026-01-01"),
        ("2028-02-01", "2028-02-29", "2028-01-01"),  # a leap year
        ("2026-01-31", "2026-01-31", "2025-12-01"),  # across the year
        ("2026-12-01", "2026-12-31", "2026-11-01"),
    ],
)
def test_months_end_on_their_last_day_and_begin_after_the_previous_one(day, last, previous):
    day = datetime.date.fromisoformat(day)
    assert last_of_month(day).isoformat() == last
    assert previous_month(day).isoformat() == previous
