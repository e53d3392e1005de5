"""Calendar arithmetic on plain dates, and a moment as a date on a customer's own calendar.

Usage is counted in UTC days; due dates, overdue and the Usage page's ranges are decided on the
customer's calendar, in its time zone.
"""

import calendar
import datetime
import zoneinfo


def local_date(at: datetime.datetime, time_zone: str) -> datetime.date:
    """`at` (aware) as a date in `time_zone` (an IANA name, like Customer.timezone)."""
    return at.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def last_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(day: datetime.date) -> datetime.date:
    """The 1st of the month before the one holding `day`."""
    return first_of_month(first_of_month(day) - datetime.timedelta(days=1))
