"""What usage costs: the customer's prices month by month, the one cost function, and the
customer's usage priced month by month (the Usage page's figures and the invoice lines).

The Usage page's cards, its table and CSVs and the monthly invoice lines all price usage with
`cost()`, so they agree to the cent. Prices change only on the 1st of a month (models.py), so
within a calendar month (UTC) every metric has one price.

Currency: each plan is in one, and prices are never converted. A span of days is priced in
the currency of the plan in force at its end (the currency the customer is billed in when it
has no plan at all: billing says which, `currency_without_plan`); a month of the span whose
plan is in another currency has no prices, so that no figure ever sums two currencies.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum

from accounts.models import Customer
from core.dates import first_of_month, last_of_month, previous_month
from core.money import line_amount
from usage.models import CustomerPlan, DailyUsage, DefaultPlan, Metric, Price
from usage.ranges import Span

HOURS_PER_MONTH = Decimal(730)
QUANTITY_PLACES = Decimal("0.0001")  # the places an invoice line keeps
NOTHING = Decimal("0.00")


def priced_quantity(metric: str, quantity: Decimal) -> Decimal:
    """The quantity a unit price applies to, as an invoice line prints it: storage GB-hours
    become GB-months of 730 hours; four decimal places, half-up."""
    if metric == Metric.STORAGE:
        quantity = Decimal(quantity) / HOURS_PER_MONTH
    return Decimal(quantity).quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def cost(metric: str, quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """The cost of a metered quantity at one unit price of a plan in `currency`, rounded
    half-up once to the currency's minor unit: exactly the amount of the invoice line for
    that quantity (core.money.line_amount)."""
    return line_amount(priced_quantity(metric, quantity), unit_price, currency)


_currency_without_plan: Callable[[Customer], str] | None = None


def currency_without_plan(currency_of: Callable[[Customer], str]) -> None:
    """Price the (empty) estimates of a customer without any plan in `currency_of(customer)`
    (billing registers the customer's billing currency, billing/apps.py)."""
    global _currency_without_plan
    _currency_without_plan = currency_of


@dataclass
class PriceBook:
    """A customer's unit prices for each month of a span. A metric the month's plan has no
    price for (or a month without any plan) has none: None, never a price of zero, so that
    such usage is not invoiced at €0.00 (billing.invoicing refuses the month)."""

    currency: str
    prices: dict[tuple[datetime.date, str], Decimal] = field(default_factory=dict)

    def unit_price(self, metric: str, day: datetime.date) -> Decimal | None:
        return self.prices.get((first_of_month(day), metric))

    def cost(self, metric: str, day: datetime.date, quantity: Decimal) -> Decimal:
        """The cost of what was used of a metric within the month of `day`; nothing where it
        has no price (what cannot be invoiced adds nothing to an estimate)."""
        unit_price = self.unit_price(metric, day)
        return NOTHING if unit_price is None else cost(metric, quantity, unit_price, self.currency)


def months_between(first_day: datetime.date, last_day: datetime.date) -> list[datetime.date]:
    """The 1st of every month from the one holding `first_day` to the one holding `last_day`."""
    months, month = [], first_of_month(first_day)
    while month <= last_day:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _in_force(changes: list[tuple[datetime.date, int | None]], month: datetime.date):
    """The plan of the latest change (start, plan) that starts on or before `month`, or None
    when none does; `changes` ordered by start."""
    current = None
    for start, plan_id in changes:
        if start <= month:
            current = plan_id
    return current


def _plans_by_month(customer: Customer, months: list[datetime.date]) -> tuple[dict, dict]:
    """The plan (id) in force for the customer in each month, in two queries: the customer's
    own or else the default plan recorded for that month (DefaultPlan), never today's default
    for a month before today's; None for a month without any. And each plan's currency."""
    plan_changes = list(
        CustomerPlan.objects.filter(customer=customer, effective_from__lte=months[-1])
        .order_by("effective_from")
        .values_list("effective_from", "plan_id", "plan__currency")
    )
    default_changes = list(
        DefaultPlan.objects.filter(effective_from__lte=months[-1])
        .order_by("effective_from")
        .values_list("effective_from", "plan_id", "plan__currency")
    )
    currencies = {plan: currency for _, plan, currency in plan_changes + default_changes}
    own = [(start, plan) for start, plan, _ in plan_changes]
    default = [(start, plan) for start, plan, _ in default_changes]
    plans = {month: _in_force(own, month) or _in_force(default, month) for month in months}
    return plans, currencies


def plan_currency(customer: Customer, month: datetime.date) -> str | None:
    """The currency of the customer's plan for the month, None without a plan."""
    plans, currencies = _plans_by_month(customer, [first_of_month(month)])
    return currencies.get(plans[first_of_month(month)])


def price_book(customer: Customer, first_day: datetime.date, last_day: datetime.date) -> PriceBook:
    """The customer's prices for every month from `first_day` to `last_day`, in three queries:
    each month at the plan in force for it (`_plans_by_month`), in the currency of the last
    month's plan (a month whose plan is in another currency has none)."""
    months = months_between(first_day, last_day)
    plan_by_month, currencies = _plans_by_month(customer, months)
    planned = [currencies[plan] for plan in plan_by_month.values() if plan]
    currency = planned[-1] if planned else _currency_without_plan(customer)
    plan_by_month = {
        month: plan if plan and currencies[plan] == currency else None
        for month, plan in plan_by_month.items()
    }
    prices = list(
        Price.objects.filter(
            plan_id__in={plan for plan in plan_by_month.values() if plan},
            effective_from__lte=months[-1],
        )
        .order_by("effective_from")
        .values_list("plan_id", "metric", "effective_from", "unit_price")
    )
    book = PriceBook(currency)
    for month, plan in plan_by_month.items():
        for plan_id, metric, start, unit_price in prices:  # later starts overwrite earlier ones
            if plan_id == plan and start <= month:
                book.prices[(month, metric)] = unit_price
    return book


@dataclass(frozen=True)
class PriceRow:
    """A metric's unit price (per its catalogue's priced unit; None: the plan has none) and the
    1st of the month from which the customer has paid it."""

    metric: str
    unit_price: Decimal | None
    since: datetime.date


@dataclass(frozen=True)
class PriceStep:
    """The customer's prices from the month `month` through the month `last_month` (each as
    its 1st; None: still in force): the plan in force (None: no plan at all) and a price per
    metric."""

    month: datetime.date
    last_month: datetime.date | None
    plan: str | None
    currency: str | None  # the plan's, in which its prices are
    prices: list[PriceRow]
    state: str  # "past", "current" or "upcoming", as of the month asked about


def price_history(customer: Customer, this_month: datetime.date) -> list[PriceStep]:
    """The customer's prices as they changed, newest first, as `price_book` prices each month:
    a step wherever its plan (its own, else the default of the month) or a price of that plan
    changes, from the first month with a price. Three queries."""
    own = list(
        CustomerPlan.objects.filter(customer=customer)
        .order_by("effective_from")
        .values_list("effective_from", "plan_id", "plan__name", "plan__currency")
    )
    defaults = list(
        DefaultPlan.objects.order_by("effective_from").values_list(
            "effective_from", "plan_id", "plan__name", "plan__currency"
        )
    )
    names = {plan: name for _, plan, name, _ in own + defaults}
    currencies = {plan: currency for _, plan, _, currency in own + defaults}
    own_changes = [(start, plan) for start, plan, _, _ in own]
    default_changes = [(start, plan) for start, plan, _, _ in defaults]

    def plan_in(month):
        return _in_force(own_changes, month) or _in_force(default_changes, month)

    plan_months = sorted({start for start, _ in own_changes + default_changes})
    plans = {plan_in(month) for month in plan_months} - {None}
    prices = list(
        Price.objects.filter(plan_id__in=plans)
        .order_by("effective_from")
        .values_list("plan_id", "metric", "effective_from", "unit_price")
    )
    steps: list[tuple[datetime.date, int | None, dict[str, Decimal | None]]] = []
    for month in sorted({*plan_months, *(start for _, _, start, _ in prices)}):
        plan = plan_in(month)
        book = dict.fromkeys(Metric.values)
        for plan_id, metric, start, unit_price in prices:  # later starts overwrite earlier ones
            if plan_id == plan and start <= month:
                book[metric] = unit_price
        if steps and steps[-1][1:] == (plan, book):
            continue
        if steps or any(price is not None for price in book.values()):
            steps.append((month, plan, book))
    history = []
    for n, (month, plan, book) in enumerate(steps):
        following = steps[n + 1][0] if n + 1 < len(steps) else None
        last_month = previous_month(following) if following else None
        if month > this_month:
            state = "upcoming"
        elif last_month is None or last_month >= this_month:
            state = "current"
        else:
            state = "past"
        rows = [
            PriceRow(metric, book[metric], _since(steps[: n + 1], plan, metric))
            for metric in Metric.values
        ]
        step = PriceStep(month, last_month, names.get(plan), currencies.get(plan), rows, state)
        history.append(step)
    return history[::-1]


def _since(steps, plan, metric: str) -> datetime.date:
    """The first month of the run of steps, ending with the last of `steps`, with the same plan
    and the same price for `metric`."""
    since = steps[-1][0]
    price = steps[-1][2][metric]
    for month, earlier_plan, book in reversed(steps):
        if earlier_plan != plan or book[metric] != price:
            break
        since = month
    return since


@dataclass(frozen=True)
class PlanPeriod:
    """Whom a plan applies to from its 1st month to its last day (None while it lasts):
    a customer, or (customer None) everyone without a plan of their own."""

    customer: Customer | None
    first_day: datetime.date
    last_day: datetime.date | None


def _periods(changes, plan_id: int, customer=None) -> list[PlanPeriod]:
    """The spans of (start, plan) changes, ordered by start, during which `plan_id` is in force."""
    periods = []
    for (start, current), following in zip(changes, [*changes[1:], None], strict=True):
        if current == plan_id:
            last_day = following[0] - datetime.timedelta(days=1) if following else None
            periods.append(PlanPeriod(customer, start, last_day))
    return periods


def plan_periods(plan_id: int) -> list[PlanPeriod]:
    """Whom the plan applies to, and from when: the months it is the default plan, then each
    customer moved to it (until their next change), by customer number."""
    defaults = DefaultPlan.objects.order_by("effective_from").values_list("effective_from", "plan")
    periods = _periods(list(defaults), plan_id)
    moves = (
        CustomerPlan.objects.filter(customer__plans__plan=plan_id)
        .distinct()
        .select_related("customer")
        .order_by("customer__number", "effective_from")
    )
    by_customer: dict[Customer, list] = {}
    for move in moves:
        by_customer.setdefault(move.customer, []).append((move.effective_from, move.plan_id))
    for customer, changes in by_customer.items():
        periods.extend(_periods(changes, plan_id, customer))
    return periods


@dataclass(frozen=True)
class PricedUsage:
    """What one service used of one metric within one calendar month (or the part of it in a
    range), in the metered unit, and what it costs at that month's price (None and nothing
    when the month has no price for the metric: such usage cannot be invoiced)."""

    service: str
    metric: str
    month: datetime.date
    quantity: Decimal
    unit_price: Decimal | None
    cost: Decimal

    @property
    def unpriced(self) -> bool:
        return self.unit_price is None and self.quantity > 0


def priced_usage(
    customer: Customer,
    first_day: datetime.date,
    last_day: datetime.date,
    *,
    service: str | None = None,
) -> list[PricedUsage]:
    """Usage from `first_day` to `last_day` (UTC days, both included) by service, metric and
    month, priced with the customer's plan. A month is priced as a whole, as its invoice is."""
    return priced_spans(customer, [(first_day, last_day)], service=service)[0]


def priced_spans(
    customer: Customer,
    spans: list[Span],
    *,
    service: str | None = None,
    book: PriceBook | None = None,
) -> list[list[PricedUsage]]:
    """`priced_usage` for several spans of days at once: one pass over the rollup, grouped by
    service and metric, with a sum for each span's part of each calendar month (comparisons
    only: no function of the day per row), and one price book for them all."""
    first_day, last_day = min(s[0] for s in spans), max(s[1] for s in spans)
    parts = [
        (index, month, max(first, month), min(last, last_of_month(month)))
        for index, (first, last) in enumerate(spans)
        for month in months_between(first, last)
    ]
    rollup = DailyUsage.objects.filter(customer=customer, day__range=(first_day, last_day))
    if service is not None:
        rollup = rollup.filter(service__name=service)
    sums = {
        f"part_{n}": Sum("quantity", filter=Q(day__gte=part_first, day__lte=part_last))
        for n, (_, _, part_first, part_last) in enumerate(parts)
    }
    rows = (
        rollup.values_list("service__name", "metric")
        .annotate(**sums)
        .order_by("service__name", "metric")
    )
    if book is None:
        book = price_book(customer, first_day, last_day)
    priced = [[] for _ in spans]
    for name, metric, *sums in rows:
        for (index, month, _, _), quantity in zip(parts, sums, strict=True):
            if quantity is not None:
                priced[index].append(
                    PricedUsage(
                        service=name,
                        metric=metric,
                        month=month,
                        quantity=quantity,
                        unit_price=book.unit_price(metric, month),
                        cost=book.cost(metric, month, quantity),
                    )
                )
    return priced


def month_usage(customer: Customer, month: datetime.date) -> list[PricedUsage]:
    """A calendar month's usage by service and metric: the lines of that month's invoice."""
    return priced_usage(customer, month.replace(day=1), last_of_month(month))
