"""The Usage page's ranges: 7 days, last month, 90 days or a given month, as UTC days chosen by
the customer's own calendar (its time zone), and the period each is compared with."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.models import Customer
from core.dates import last_of_month, local_date, previous_month

PRESET_RANGES = ("7d", "last-month", "90d")
DEFAULT_RANGE = "7d"
DAY = datetime.timedelta(days=1)

Span = tuple[datetime.date, datetime.date]  # first and last UTC day, both included


def local_today(customer: Customer, now: datetime.datetime | None = None) -> datetime.date:
    """The customer's date now, in their time zone: where the page's ranges end."""
    now = now or timezone.now()
    return local_date(now, customer.timezone)


@dataclass(frozen=True)
class UsageRange:
    """The UTC days a page shows (both ends included) and the period it compares them with:
    the calendar month before for a whole calendar month, else as many days just before."""

    key: str  # "7d", "last-month", "90d", or "month" for ?month=YYYY-MM
    first_day: datetime.date
    last_day: datetime.date
    previous_first: datetime.date
    previous_last: datetime.date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def hours(self) -> Decimal:
        """What storage's GB-hours are divided by for the average GB: days x 24."""
        return Decimal(self.days * 24)

    @property
    def span(self) -> Span:
        return (self.first_day, self.last_day)

    @property
    def previous_span(self) -> Span:
        return (self.previous_first, self.previous_last)

    @property
    def previous_hours(self) -> Decimal:
        return Decimal(((self.previous_last - self.previous_first).days + 1) * 24)

    @property
    def by_week(self) -> bool:
        """Longer than a month: the chart shows weeks, not days."""
        return self.days > 31

    @property
    def is_whole_month(self) -> bool:
        return self.first_day.day == 1 and self.last_day == last_of_month(self.first_day)

    @property
    def slug(self) -> str:
        """For file names: 2026-10 for a calendar month, else 2026-11-16_2026-11-22."""
        if self.is_whole_month:
            return self.first_day.strftime("%Y-%m")
        return f"{self.first_day.isoformat()}_{self.last_day.isoformat()}"


def _days_before(key: str, first_day: datetime.date, last_day: datetime.date) -> UsageRange:
    length = last_day - first_day + datetime.timedelta(days=1)
    return UsageRange(key, first_day, last_day, first_day - length, first_day - DAY)


def preset_range(key: str, today: datetime.date) -> UsageRange:
    """Last 7 Days and Last 90 Days end today; Last Month is the calendar month before
    today's. An unknown key is the default range."""
    if key == "last-month":
        return month_range(previous_month(today), today)
    days = 90 if key == "90d" else 7
    return _days_before(
        key if key in PRESET_RANGES else DEFAULT_RANGE, today - (days - 1) * DAY, today
    )


def month_range(month: datetime.date, today: datetime.date) -> UsageRange:
    """A calendar month (the one an invoice covers); the current month up to today."""
    first_day, last_day = month.replace(day=1), min(last_of_month(month), today)
    key = "last-month" if first_day == previous_month(today) else "month"
    if last_day == last_of_month(first_day):
        before = previous_month(first_day)
        return UsageRange(key, first_day, last_day, before, last_of_month(before))
    return _days_before(key, first_day, last_day)
