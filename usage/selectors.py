"""The Usage page's customer-scoped reads: its cards, chart, table, outlook and CSV rows, the
months and services it offers to choose from.

They read the daily rollup (DailyUsage), never the raw records, so they cost the same whether
a customer sent a thousand records or a billion.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Sum

from accounts.models import Customer
from core.dates import last_of_month
from core.money import ZERO, round_money
from usage.models import DailyUsage, HeldRecord, LateUsage, Metric, Service
from usage.pricing import PriceBook, PricedUsage, price_book, priced_spans
from usage.ranges import DAY, UsageRange

RUN_RATE_DAYS = 7  # the projection's run-rate: the last 7 days, today included
WHOLE = Decimal(1)


def has_usage(customer: Customer) -> bool:
    """Whether any usage of the customer's has been counted yet."""
    return DailyUsage.objects.filter(customer=customer).exists()


# From the newest month down, one probe of the (customer, day) index per month: the latest day
# before the month found last. Reading every daily row to list the months would grow with the
# customer's history.
MONTH_OF = {
    "postgresql": "date_trunc('month', MAX(day))::date",
    "sqlite": "date(MAX(day), 'start of month')",
}
USAGE_MONTHS = """
WITH RECURSIVE months(month) AS (
    SELECT {month_of} FROM usage_dailyusage WHERE customer_id = %s
    UNION ALL
    SELECT (SELECT {month_of} FROM usage_dailyusage WHERE customer_id = %s AND day < months.month)
    FROM months WHERE months.month IS NOT NULL
)
SELECT month FROM months WHERE month IS NOT NULL
"""


def usage_months(customer: Customer) -> list[datetime.date]:
    """The first day of each month with counted usage, newest first: the Usage page's picker."""
    sql = USAGE_MONTHS.format(month_of=MONTH_OF.get(connection.vendor, MONTH_OF["sqlite"]))
    with connection.cursor() as cursor:
        cursor.execute(sql, [customer.pk, customer.pk])
        months = [month for (month,) in cursor.fetchall()]
    return [m if isinstance(m, datetime.date) else datetime.date.fromisoformat(m) for m in months]


def service_names(customer: Customer) -> list[str]:
    """The customer's services by name: the Usage page's service filter."""
    return list(
        Service.objects.filter(customer=customer).order_by("name").values_list("name", flat=True)
    )


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    """The change from `previous` to `current` in whole percent, half-up; None when the
    previous period had nothing to compare with."""
    if not previous:
        return None
    return ((current - previous) * 100 / previous).quantize(WHOLE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MetricTotal:
    """One metric card: what was used in the range (storage as the average GB over it), its
    estimated cost, and the same for the period before."""

    metric: str
    quantity: Decimal
    cost: Decimal
    previous_quantity: Decimal

    @property
    def change(self) -> Decimal | None:
        return percent_change(self.quantity, self.previous_quantity)

    @property
    def is_new(self) -> bool:
        return not self.previous_quantity and bool(self.quantity)


@dataclass(frozen=True)
class ServiceUsage:
    """A row of the summary table: a service's quantities in the units the page shows (storage
    as average GB), in the order of the Metric catalogue, and their estimated cost."""

    service: str
    quantities: dict[str, Decimal]
    cost: Decimal

    @property
    def cells(self) -> list[tuple[str, Decimal]]:
        """(metric, quantity) in the order of the Metric catalogue."""
        return [(metric, self.quantities[metric]) for metric in Metric.values]


@dataclass(frozen=True)
class UsageBucket:
    """A bar of the chart: a day, or a week (Monday to Sunday, cut at the range's ends). Each
    metric's quantity as shown and its estimated cost, each month's part priced as a whole."""

    first_day: datetime.date
    last_day: datetime.date
    quantities: dict[str, Decimal]
    costs: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.costs.values(), Decimal("0.00"))


@dataclass(frozen=True)
class MonthOutlook:
    """The current month so far and where its bill is heading:

    projected = so far + (last 7 days' cost / 7) x days left in the month after today."""

    month: datetime.date
    currency: str
    so_far: Decimal
    last_7_days: Decimal
    days_left: int

    @property
    def projected(self) -> Decimal:
        run_rate = self.last_7_days * self.days_left / RUN_RATE_DAYS
        return self.so_far + round_money(run_rate, self.currency)


@dataclass(frozen=True)
class UsageSummary:
    """The cards and the summary table of a range. Every cost is a sum of `cost()` over the
    service x metric x month pieces of `priced_usage`, so the table's Total Estimated Bill is
    the sum of its rows and of the four cards, to the cent."""

    range: UsageRange
    service: str | None
    currency: str  # of every cost: the plan's (usage.pricing.price_book)
    metrics: list[MetricTotal]
    services: list[ServiceUsage]
    total: ServiceUsage  # the Total Estimated Bill row: the cards' quantities, the rows' costs


def usage_summary(
    customer: Customer, usage_range: UsageRange, *, service: str | None = None
) -> UsageSummary:
    """The range's usage by metric and by service, and the period before by metric."""
    spans = [usage_range.span, usage_range.previous_span]
    book = price_book(customer, min(s[0] for s in spans), max(s[1] for s in spans))
    current, previous = priced_spans(customer, spans, service=service, book=book)
    return _summary(usage_range, service, book.currency, current, previous)


def _summary(
    usage_range: UsageRange,
    service: str | None,
    currency: str,
    current: list[PricedUsage],
    previous: list[PricedUsage],
) -> UsageSummary:
    now_used, before_used = _per_metric(current), _per_metric(previous)
    metrics = [
        MetricTotal(
            metric=metric,
            quantity=_shown(metric, now_used[metric], usage_range.hours),
            cost=_cost(p for p in current if p.metric == metric),
            previous_quantity=_shown(metric, before_used[metric], usage_range.previous_hours),
        )
        for metric in Metric.values
    ]
    services = [
        _service_usage(name, [p for p in current if p.service == name], usage_range.hours)
        for name in sorted({p.service for p in current})
    ]
    total = ServiceUsage(
        service="",
        quantities={m.metric: m.quantity for m in metrics},
        cost=sum((row.cost for row in services), Decimal("0.00")),
    )
    return UsageSummary(usage_range, service, currency, metrics, services, total)


@dataclass(frozen=True)
class UsageOverview:
    """Everything the Usage page shows for a range: the summary, the chart's bars, the
    current month's outlook, and the months of the range (or the current one) that cannot be
    invoiced as they stand (month -> NO_PRICE or HELD)."""

    summary: UsageSummary
    buckets: list[UsageBucket]
    outlook: MonthOutlook
    not_invoiceable: dict[datetime.date, str]


NO_PRICE, HELD = "no_price", "held"  # the reasons a month's usage cannot be invoiced yet


def not_invoiceable_months(
    customer: Customer, pieces: list[PricedUsage], first_day: datetime.date, last_day: datetime.date
) -> dict[datetime.date, str]:
    """The months from `first_day` to `last_day` whose invoice cannot be made from the usage
    as it stands: some of it has no price (`pieces`, priced usage of those days), or records
    of the month are held back by the aggregation (the month's usage is not all counted)."""
    months = {p.month: NO_PRICE for p in pieces if p.unpriced}
    held = HeldRecord.objects.filter(
        customer=customer, month__gte=first_day.replace(day=1), month__lte=last_day
    )
    months.update(dict.fromkeys(held.values_list("month", flat=True).distinct(), HELD))
    return months


def usage_overview(
    customer: Customer, usage_range: UsageRange, today: datetime.date, *, service: str | None = None
) -> UsageOverview:
    """The Usage page for `usage_range`, all services or one: 6 queries whatever the range and
    the number of days or records (a price book, the priced spans, the daily series)."""
    month = today.replace(day=1)
    week_first = today - (RUN_RATE_DAYS - 1) * DAY
    spans = [usage_range.span, usage_range.previous_span, (month, today), (week_first, today)]
    book = price_book(customer, min(s[0] for s in spans), max(s[1] for s in spans))
    current, previous, so_far, last_week = priced_spans(customer, spans, service=service, book=book)
    first_day = min(usage_range.first_day, month)
    last_day = max(usage_range.last_day, today)
    return UsageOverview(
        summary=_summary(usage_range, service, book.currency, current, previous),
        buckets=_buckets(customer, usage_range, service, book),
        outlook=MonthOutlook(
            month=month,
            currency=book.currency,
            so_far=_cost(so_far),
            last_7_days=_cost(last_week),
            days_left=(last_of_month(today) - today).days,
        ),
        not_invoiceable=not_invoiceable_months(customer, current + so_far, first_day, last_day),
    )


def _cost(pieces) -> Decimal:
    return sum((p.cost for p in pieces), Decimal("0.00"))


def _per_metric(pieces: list[PricedUsage]) -> dict[str, Decimal]:
    used = dict.fromkeys(Metric.values, Decimal(0))
    for p in pieces:
        used[p.metric] += p.quantity
    return used


def _shown(metric: str, quantity: Decimal, hours: Decimal) -> Decimal:
    """Storage's GB-hours as the average GB over `hours`; other metrics as metered."""
    return quantity / hours if metric == Metric.STORAGE else quantity


def _service_usage(name: str, pieces: list[PricedUsage], hours: Decimal) -> ServiceUsage:
    used = _per_metric(pieces)
    return ServiceUsage(
        service=name,
        quantities={metric: _shown(metric, used[metric], hours) for metric in Metric.values},
        cost=_cost(pieces),
    )


def _buckets(
    customer: Customer, usage_range: UsageRange, service: str | None, book: PriceBook
) -> list[UsageBucket]:
    """The chart's bars, from one query of the range's usage per day and metric."""
    rollup = DailyUsage.objects.filter(
        customer=customer, day__range=(usage_range.first_day, usage_range.last_day)
    )
    if service is not None:
        rollup = rollup.filter(service__name=service)
    per_day = rollup.values_list("day", "metric").annotate(quantity=Sum("quantity")).order_by()
    # bucket -> metric -> month -> quantity: a bucket across two months is priced per month.
    used = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    spans = _bucket_spans(usage_range)
    bucket_of = {
        first_day + n * DAY: first_day
        for first_day, last_day in spans
        for n in range((last_day - first_day).days + 1)
    }
    for day, metric, quantity in per_day:
        used[bucket_of[day]][metric][day.replace(day=1)] += quantity
    buckets = []
    for first_day, last_day in spans:
        hours = Decimal(((last_day - first_day).days + 1) * 24)
        by_month = {metric: used[first_day][metric] for metric in Metric.values}
        buckets.append(
            UsageBucket(
                first_day,
                last_day,
                quantities={
                    metric: _shown(metric, sum(months.values(), Decimal(0)), hours)
                    for metric, months in by_month.items()
                },
                costs={
                    metric: sum(
                        (book.cost(metric, month, q) for month, q in months.items()),
                        Decimal("0.00"),
                    )
                    for metric, months in by_month.items()
                },
            )
        )
    return buckets


def _bucket_spans(usage_range: UsageRange) -> list[tuple[datetime.date, datetime.date]]:
    """(first, last) day of each bar: every day, or every week from Monday for long ranges."""
    if not usage_range.by_week:
        return [(usage_range.first_day + n * DAY,) * 2 for n in range(usage_range.days)]
    spans, first_day = [], usage_range.first_day
    while first_day <= usage_range.last_day:
        sunday = first_day + (6 - first_day.weekday()) * DAY
        spans.append((first_day, min(sunday, usage_range.last_day)))
        first_day = sunday + DAY
    return spans


@dataclass(frozen=True)
class DailyCost:
    """A row of the daily CSV: one service's use of one metric on one UTC day, priced on its
    own (so the rows of a month may add up to a few cents more or less than its invoice,
    which prices the month's total once)."""

    day: datetime.date
    service: str
    metric: str
    quantity: Decimal
    cost: Decimal
    late: bool = False  # counted after its month was invoiced: on a later invoice


@dataclass(frozen=True)
class DailyCosts:
    """The daily CSV's rows, every cost in `currency` (the plan's)."""

    currency: str
    rows: list[DailyCost]


def daily_costs(
    customer: Customer, usage_range: UsageRange, *, service: str | None = None
) -> DailyCosts:
    """The rollup behind a range, day by day, service by service, metric by metric; where part
    of a day's usage is late usage (models.late), that part on a row of its own after it."""
    days = (usage_range.first_day, usage_range.last_day)
    rollup = DailyUsage.objects.filter(customer=customer, day__range=days)
    late_usage = LateUsage.objects.filter(customer=customer, day__range=days)
    if service is not None:
        rollup = rollup.filter(service__name=service)
        late_usage = late_usage.filter(service__name=service)
    rows = rollup.values_list("day", "service__name", "metric", "quantity").order_by(
        "day", "service__name", "metric"
    )
    late_sums = late_usage.values_list("day", "service__name", "metric").annotate(
        quantity=Sum("quantity")
    )
    late = {(day, name, metric): quantity for day, name, metric, quantity in late_sums.order_by()}
    book = price_book(customer, usage_range.first_day, usage_range.last_day)
    costs = []
    for day, name, metric, quantity in rows:
        late_part = late.get((day, name, metric), ZERO)
        on_time = quantity - late_part
        if on_time or not late_part:
            costs.append(DailyCost(day, name, metric, on_time, book.cost(metric, day, on_time)))
        if late_part:
            cost = book.cost(metric, day, late_part)
            costs.append(DailyCost(day, name, metric, late_part, cost, late=True))
    return DailyCosts(book.currency, costs)
