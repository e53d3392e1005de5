"""Queries behind the Usage page, its CSVs and the monthly invoices, scoped to one customer.

They read the daily rollup (DailyUsage), never the raw records, so they cost the same whether
a customer sent a thousand records or a billion.
"""

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from accounts.models import Customer
from usage.models import DailyUsage
from usage.pricing import price_book


@dataclass(frozen=True)
class PricedUsage:
    """What one service used of one metric within one calendar month (or the part of it in a
    range), in the metered unit, and what it costs at that month's price."""

    service: str
    metric: str
    month: datetime.date
    quantity: Decimal
    unit_price: Decimal
    cost: Decimal


def priced_usage(
    customer: Customer,
    first_day: datetime.date,
    last_day: datetime.date,
    *,
    service: str | None = None,
) -> list[PricedUsage]:
    """Usage from `first_day` to `last_day` (UTC days, both included) by service, metric and
    month, priced with the customer's plan. A month is priced as a whole, as its invoice is."""
    rollup = DailyUsage.objects.filter(customer=customer, day__range=(first_day, last_day))
    if service is not None:
        rollup = rollup.filter(service__name=service)
    rows = (
        rollup.annotate(month=TruncMonth("day"))
        .values_list("service__name", "metric", "month")
        .annotate(quantity=Sum("quantity"))
        .order_by("service__name", "metric", "month")
    )
    book = price_book(customer, first_day, last_day)
    return [
        PricedUsage(
            service=name,
            metric=metric,
            month=month,
            quantity=quantity,
            unit_price=book.unit_price(metric, month),
            cost=book.cost(metric, month, quantity),
        )
        for name, metric, month, quantity in rows
    ]


def month_usage(customer: Customer, month: datetime.date) -> list[PricedUsage]:
    """A calendar month's usage by service and metric: the lines of that month's invoice."""
    first_day = month.replace(day=1)
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    return priced_usage(customer, first_day, last_day)
