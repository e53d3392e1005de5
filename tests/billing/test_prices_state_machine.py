"""Monthly invoices stay right while staff change prices and plans.

Hypothesis runs months of usage through the monthly invoicing while staff add plans and prices,
move the customer and switch the default plan, and prices every invoice by hand.
Runs on SQLite in `make test` and on PostgreSQL in CI.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from billing import invoicing
from billing.models import Invoice, UninvoicedMonth
from tests.billing.test_books_state_machine import D, half_up
from tests.factories import CustomerFactory
from usage import services as usage_services
from usage.models import CustomerPlan, DailyUsage, DefaultPlan, Price, PricingPlan, Service
from usage.pricing import month_usage

pytestmark = pytest.mark.both_databases


# ---- Monthly invoices from usage while staff change prices and plans ----

METRICS = ["cpu", "memory", "storage", "bandwidth"]
STANDARD = {"cpu": "0.031", "memory": "0.0042", "storage": "0.095", "bandwidth": "0.01"}
QUANTITY_PLACES = Decimal("0.0001")
START = datetime.datetime(2026, 9, 1, 12, tzinfo=datetime.UTC)


def in_force(changes: list, month: datetime.date):
    """The value of the latest (start, value) change that starts on or before `month`."""
    started = [value for start, value in changes if start <= month]
    return started[-1] if started else None


class MonthlyRuns(RuleBasedStateMachine):
    """One customer's usage month after month, invoiced by the hourly run, while staff add
    plans and prices, move the customer and switch the default plan. The test keeps its own
    record of which plan and price applied to each month and prices the invoices by hand."""

    def __init__(self):
        super().__init__()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.customer = CustomerFactory(timezone="UTC")
        # The examples share one database: undo what earlier ones changed of the shared plans.
        standard = PricingPlan.objects.get(name="Standard")
        DefaultPlan.objects.filter(effective_from__gte=START.date()).delete()
        Price.objects.filter(plan=standard, effective_from__gte=START.date()).delete()
        PricingPlan.objects.exclude(pk=standard.pk).update(is_default=False)
        PricingPlan.objects.filter(pk=standard.pk).update(is_default=True)
        self.plans = {"Standard": standard}
        since = datetime.date(2000, 1, 1)
        self.prices = {"Standard": {m: [(since, D(p))] for m, p in STANDARD.items()}}
        self.defaults = [(since, "Standard")]
        self.own_plan: list = []
        self.used: dict = {}  # (month, service, metric) -> quantity
        # Two more plans, priced from the first month: one for every metric, one for CPU only.
        for name, metrics in [("Gold", METRICS), ("Lite", ["cpu"])]:
            self.plans[name] = PricingPlan.objects.create(name=f"{name} {self.customer.number}")
            self.prices[name] = {}
            for n, metric in enumerate(metrics):
                self.staff_price(name, metric, D("0.02") * (n + 1))

    def teardown(self):
        self.traveller.stop()

    @property
    def month(self) -> datetime.date:
        return timezone.now().date().replace(day=1)

    @initialize(quantity=st.decimals(1, 10**6, places=6))
    def the_customer_uses_cpu_from_the_first_day(self, quantity):
        self.usage_is_counted("web", "cpu", quantity, 1)

    @rule(
        service=st.sampled_from(["web", "db"]),
        metric=st.sampled_from(METRICS),
        quantity=st.decimals(0, 10**6, places=6),
        day=st.integers(1, 28),
    )
    def usage_is_counted(self, service, metric, quantity, day):
        row, _ = DailyUsage.objects.get_or_create(
            customer=self.customer,
            service=Service.objects.get_or_create(customer=self.customer, name=service)[0],
            metric=metric,
            day=self.month.replace(day=day),
            defaults={"quantity": 0},
        )
        row.quantity += quantity
        row.save()
        key = (self.month, service, metric)
        self.used[key] = self.used.get(key, D(0)) + quantity

    def staff_price(self, name, metric, unit_price):
        Price.objects.create(
            plan=self.plans[name], metric=metric, unit_price=unit_price, effective_from=self.month
        )
        self.prices[name].setdefault(metric, []).append((self.month, unit_price))

    @rule(data=st.data(), metric=st.sampled_from(METRICS), cents=st.integers(0, 900))
    def staff_change_a_price_from_this_month(self, data, metric, cents):
        name = data.draw(st.sampled_from(sorted(self.plans)))
        if not Price.objects.filter(
            plan=self.plans[name], metric=metric, effective_from=self.month
        ).exists():
            self.staff_price(name, metric, D(cents) / 1000)

    @rule(data=st.data())
    def staff_switch_the_default_plan(self, data):
        name = data.draw(st.sampled_from([*sorted(self.plans), None]))
        usage_services.record_default_plan(plan=self.plans[name] if name else None)
        self.defaults = [c for c in self.defaults if c[0] != self.month] + [(self.month, name)]

    @rule(data=st.data())
    def staff_move_the_customer(self, data):
        name = data.draw(st.sampled_from(sorted(self.plans)))
        CustomerPlan.objects.update_or_create(
            customer=self.customer, effective_from=self.month, defaults={"plan": self.plans[name]}
        )
        self.own_plan = [c for c in self.own_plan if c[0] != self.month] + [(self.month, name)]

    @rule(hour=st.integers(0, 30))
    def the_month_ends_and_the_hourly_run_invoices_it(self, hour):
        next_month = (self.month + datetime.timedelta(days=32)).replace(day=1)
        moment = datetime.datetime.combine(next_month, datetime.time(), tzinfo=datetime.UTC)
        # After the grace period (INVOICE_GRACE_HOURS, a day), in some hour of the next day.
        moment += datetime.timedelta(hours=settings.INVOICE_GRACE_HOURS + hour)
        self.clock.move_to(moment)
        invoicing.issue_due_invoices(now=moment)

    # ---- What must hold after every step ----

    def expected(self, month):
        """The month's invoice lines priced by hand, or None when some usage has no price."""
        plan = in_force(self.own_plan, month) or in_force(self.defaults, month)
        lines = []
        for (used_in, service, metric), quantity in sorted(self.used.items()):
            if used_in != month or not quantity:
                continue
            price = in_force(self.prices.get(plan, {}).get(metric, []), month)
            if price is None:
                return None
            if metric == "storage":
                quantity = quantity / 730
            quantity = quantity.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)
            if quantity:
                lines.append((service, metric, quantity, price, half_up(quantity * price)))
        return lines

    @invariant()
    def every_month_over_is_invoiced_at_the_prices_it_had_or_waits_for_staff(self):
        months = {month for month, _, _ in self.used if month < self.month}
        for month in months:
            invoice = Invoice.objects.filter(customer=self.customer, usage_month=month).first()
            expected = self.expected(month)
            if expected is None:
                assert invoice is None, month  # never billed at €0.00
                assert UninvoicedMonth.objects.get(customer=self.customer, usage_month=month)
                continue
            if not expected:
                assert invoice is None
                continue
            order = {m: n for n, m in enumerate(METRICS)}
            expected.sort(key=lambda line: (line[0], order[line[1]]))
            got = [(x.service, x.quantity, x.unit_price, x.amount) for x in invoice.lines.all()]
            assert got == [(s, q, p, a) for s, _, q, p, a in expected], month
            # The Usage page's figures for the month are still its invoice's.
            costs = {(p.service, p.metric): p.cost for p in month_usage(self.customer, month)}
            assert [costs[(s, m)] for s, m, _, _, _ in expected] == [a for *_, a in expected]


@pytest.mark.django_db
def test_monthly_invoices_hold_whatever_staff_change_in_prices_and_plans(default_plan):
    run_state_machine_as_test(MonthlyRuns)
