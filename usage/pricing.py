"""What usage costs: the customer's prices month by month, and the one cost function.

The Usage page's cards, its table and CSVs and the monthly invoice lines all price usage with
`cost()`, so they agree to the cent. Prices change only on the 1st of a month (models.py), so
within a calendar month (UTC) every metric has one price.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from accounts.models import Customer
from core.dates import first_of_month
from core.money import line_amount
from usage.models import CustomerPlan, Metric, Price, PricingPlan

HOURS_PER_MONTH = Decimal(730)
QUANTITY_PLACES = Decimal("0.0001")  # the places an invoice line keeps
FREE = Decimal("0.000000")


def priced_quantity(metric: str, quantity: Decimal) -> Decimal:
    """The quantity a unit price applies to, as an invoice line prints it: storage GB-hours
    become GB-months of 730 hours; four decimal places, half-up."""
    if metric == Metric.STORAGE:
        quantity = Decimal(quantity) / HOURS_PER_MONTH
    return Decimal(quantity).quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def cost(metric: str, quantity: Decimal, unit_price: Decimal) -> Decimal:
    """EUR for a metered quantity at one unit price, rounded half-up to cents once: exactly
    the amount of the invoice line for that quantity (core.money.line_amount)."""
    return line_amount(priced_quantity(metric, quantity), unit_price)


@dataclass
class PriceBook:
    """A customer's unit prices for each month of a span. A metric the plan has no price for
    is free (the plan's admin page lists what each plan prices)."""

    prices: dict[tuple[datetime.date, str], Decimal] = field(default_factory=dict)

    def unit_price(self, metric: str, day: datetime.date) -> Decimal:
        return self.prices.get((first_of_month(day), metric), FREE)

    def cost(self, metric: str, day: datetime.date, quantity: Decimal) -> Decimal:
        """The cost of what was used of a metric within the month of `day`."""
        return cost(metric, quantity, self.unit_price(metric, day))


def months_between(first_day: datetime.date, last_day: datetime.date) -> list[datetime.date]:
    """The 1st of every month from the one holding `first_day` to the one holding `last_day`."""
    months, month = [], first_of_month(first_day)
    while month <= last_day:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def price_book(customer: Customer, first_day: datetime.date, last_day: datetime.date) -> PriceBook:
    """The customer's prices for every month from `first_day` to `last_day`, in three queries."""
    months = months_between(first_day, last_day)
    plan_changes = list(
        CustomerPlan.objects.filter(customer=customer, effective_from__lte=months[-1])
        .order_by("effective_from")
        .values_list("effective_from", "plan_id")
    )
    default_plan = PricingPlan.objects.filter(is_default=True).values_list("id", flat=True).first()

    def plan_in(month):
        current = default_plan
        for start, plan_id in plan_changes:
            if start <= month:
                current = plan_id
        return current

    plan_by_month = {month: plan_in(month) for month in months}
    prices = list(
        Price.objects.filter(
            plan_id__in={plan for plan in plan_by_month.values() if plan},
            effective_from__lte=months[-1],
        )
        .order_by("effective_from")
        .values_list("plan_id", "metric", "effective_from", "unit_price")
    )
    book = PriceBook()
    for month, plan in plan_by_month.items():
        for plan_id, metric, start, unit_price in prices:  # later starts overwrite earlier ones
            if plan_id == plan and start <= month:
                book.prices[(month, metric)] = unit_price
    return book
