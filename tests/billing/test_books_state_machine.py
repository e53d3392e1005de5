"""The books stay right in every order of events.

Hypothesis drives one customer through random sequences of invoices, card checkouts of one or
several invoices, bank payments, credit notes, Stripe refunds (partial, full, cumulative, early),
redelivered webhooks, voids, the overdue job and staff refunds of credit. After every step the test
recomputes everything from the rows, by hand, and compares it with what the portal shows.
A second machine runs months of usage through the monthly invoicing while staff add plans and
prices, move the customer and switch the default plan, and prices every invoice by hand.
Runs on SQLite in `make test` and on PostgreSQL in CI.
"""

import contextlib
import datetime
import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Membership
from billing import checkout, invoicing, services, webhooks
from billing.exceptions import BillingError
from billing.models import CheckoutSession, CreditEntry, Invoice, Payment, UninvoicedMonth
from billing.selectors import credit_balance, invoice_stats
from core.money import to_minor_units
from tests.billing.conftest import stored_summary, summary_by_hand
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice
from tests.stripe_standin import checkout_event, refund_event
from usage import services as usage_services
from usage.models import CustomerPlan, DailyUsage, DefaultPlan, Price, PricingPlan, Service
from usage.pricing import month_usage

pytestmark = pytest.mark.both_databases

CENT = Decimal("0.01")
D = Decimal
ZERO = Decimal("0.00")
event_ids = itertools.count(1)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def total_of(rows, **filters) -> Decimal:
    return rows.filter(**filters).aggregate(s=Sum("amount"))["s"] or ZERO


class Books(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        membership = MembershipFactory(customer=CustomerFactory(), role=Membership.Role.OWNER)
        self.customer, self.user = membership.customer, membership.user
        self.received = ZERO  # money the customer sent that reached the books
        self.checkouts: list[int] = []
        self.settled: set[int] = set()
        self.refunded_cents: dict[int, int] = {}  # checkout -> Stripe's cumulative refunded
        self.sent_events: list[dict] = []

    # ---- What happens ----

    @rule(
        cents=st.lists(st.integers(0, 40_000), min_size=1, max_size=3),
        vat=st.sampled_from(["0.00", "25.00"]),
    )
    def issue_invoice(self, cents, vat):
        lines = [("svc", f"Line {n}", "1", "h", str(Decimal(c) / 100)) for n, c in enumerate(cents)]
        issued_invoice(self.customer, lines, vat_rate=Decimal(vat))

    def open_invoices(self) -> list[Invoice]:
        return list(Invoice.objects.for_customer(self.customer).unpaid().order_by("pk"))

    @precondition(lambda self: self.open_invoices())
    @rule(data=st.data())
    def start_card_checkout(self, data):
        invoices = data.draw(
            st.lists(st.sampled_from(self.open_invoices()), min_size=1, max_size=3, unique=True)
        )
        session = checkout.start_checkout(
            customer=self.customer,
            invoices=invoices,
            user=self.user,
            success_url="http://testserver/ok",
            cancel_url="http://testserver/cancel",
        )
        if session.pk not in self.checkouts:
            self.checkouts.append(session.pk)

    def send(self, event: dict) -> str:
        event.setdefault("created", int(timezone.now().timestamp()))
        self.sent_events.append(event)
        return webhooks.handle_stripe_event(event)

    @precondition(lambda self: set(self.checkouts) - self.settled)
    @rule(data=st.data())
    def card_payment_succeeds(self, data):
        pk = data.draw(st.sampled_from(sorted(set(self.checkouts) - self.settled)))
        session = CheckoutSession.objects.get(pk=pk)
        outcome = self.send(
            checkout_event(
                f"evt_paid_{pk}",
                "checkout.session.completed",
                session_id=session.stripe_id,
                amount_total=to_minor_units(session.amount_total, "EUR"),
                payment_intent=f"pi_{pk}",
            )
        )
        assert outcome.startswith("paid"), outcome
        self.settled.add(pk)
        self.received += session.amount_total

    @precondition(lambda self: self.checkouts)
    @rule(data=st.data(), share=st.integers(1, 100))
    def stripe_refunds(self, data, share):
        """Staff refund part of a card payment in Stripe: the event carries the running total.
        It may come before the payment's own event (it then waits)."""
        pk = data.draw(st.sampled_from(self.checkouts))
        session = CheckoutSession.objects.get(pk=pk)
        paid = to_minor_units(session.amount_total, "EUR")
        before = self.refunded_cents.get(pk, 0)
        cumulative = min(paid, before + max(1, paid * share // 100))
        if cumulative == before:
            return
        self.refunded_cents[pk] = cumulative
        self.send(
            refund_event(
                f"evt_refund_{next(event_ids)}",
                payment_intent=f"pi_{pk}",
                amount_refunded=cumulative,
            )
        )

    @precondition(lambda self: self.sent_events)
    @rule(data=st.data())
    def stripe_redelivers_an_event(self, data):
        event = data.draw(st.sampled_from(self.sent_events))
        assert webhooks.handle_stripe_event(event) == "duplicate"

    @precondition(lambda self: self.open_invoices())
    @rule(data=st.data(), share=st.integers(1, 100))
    def bank_transfer_arrives(self, data, share):
        invoice = data.draw(st.sampled_from(self.open_invoices()))
        amount = max(CENT, half_up(invoice.outstanding * share / 100))
        services.record_bank_payment(invoice=invoice, amount=amount, received_at=timezone.now())
        self.received += amount

    @rule(data=st.data(), cents=st.integers(1, 30_000))
    def staff_issue_a_credit_note(self, data, cents):
        invoices = list(
            Invoice.objects.for_customer(self.customer)
            .filter(kind=Invoice.Kind.INVOICE)
            .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        )
        if not invoices:
            return
        invoice = data.draw(st.sampled_from(invoices))
        # More than is left to credit is refused, and changes nothing (checked below).
        with contextlib.suppress(BillingError):
            services.issue_credit_note(
                invoice=invoice, reason="Goodwill", net_amount=Decimal(cents) / 100, deliver=False
            )

    @precondition(lambda self: self.untouched_invoices())
    @rule(data=st.data())
    def staff_void_an_untouched_invoice(self, data):
        services.void_invoice(invoice=data.draw(st.sampled_from(self.untouched_invoices())))

    def untouched_invoices(self) -> list[Invoice]:
        """Open invoices nothing was paid, credited or applied on: what staff may void."""
        return [
            i
            for i in self.open_invoices()
            if not (i.amount_paid or i.amount_credited or i.credit_applied)
        ]

    @rule(days=st.integers(0, 90))
    def overdue_job_runs(self, days):
        services.flag_overdue_invoices(now=timezone.now() + datetime.timedelta(days=days))

    @precondition(lambda self: credit_balance(self.customer, "EUR") > 0)
    @rule(share=st.integers(1, 100))
    def staff_refund_credit(self, share):
        amount = max(CENT, half_up(credit_balance(self.customer, "EUR") * share / 100))
        services.refund_customer_credit(customer=self.customer, amount=amount, currency="EUR")

    # ---- What must hold after every step ----

    @invariant()
    def every_invoice_adds_up(self):
        for invoice in Invoice.objects.for_customer(self.customer).issued():
            lines = [half_up(line.quantity * line.unit_price) for line in invoice.lines.all()]
            subtotal = sum(lines, ZERO)
            assert invoice.subtotal == subtotal
            assert invoice.total == subtotal + half_up(subtotal * invoice.vat_rate / 100)
            if invoice.is_credit_note:
                continue
            payments = invoice.payments.all()
            paid = total_of(payments, kind=Payment.Kind.PAYMENT)
            refunded = total_of(payments, kind=Payment.Kind.REFUND) + total_of(
                payments, kind=Payment.Kind.TO_CREDIT
            )
            credited = -(invoice.credit_notes.issued().aggregate(s=Sum("total"))["s"] or ZERO)
            entries = invoice.credit_entries.all()
            applied = total_of(entries, kind=CreditEntry.Kind.APPLIED) - total_of(
                entries, kind=CreditEntry.Kind.UNAPPLIED
            )
            owed = invoice.total - paid + refunded - credited - applied
            assert owed >= 0, (invoice, owed)
            assert invoice.outstanding == (owed if invoice.is_open else ZERO)
            something_paid = paid - refunded > 0 or applied > 0
            if invoice.status != Invoice.Status.VOID:
                assert invoice.is_open == (owed > 0), invoice
                assert (invoice.status == Invoice.Status.PAID) == (owed == 0 and something_paid)

    @invariant()
    def the_cards_and_tabs_match_the_rows(self):
        invoices = list(Invoice.objects.for_customer(self.customer).issued())
        open_ = [i for i in invoices if i.status in Invoice.OPEN_STATUSES]
        stats = invoice_stats(self.customer)
        outstanding = sum(
            (i.total - i.amount_paid - i.amount_credited - i.credit_applied for i in open_), ZERO
        )
        assert stats.outstanding == {"EUR": outstanding}
        net_paid = total_of(
            Payment.objects.filter(invoice__customer=self.customer), kind=Payment.Kind.PAYMENT
        ) - total_of(
            Payment.objects.filter(
                invoice__customer=self.customer, kind__in=["refund", "to_credit"]
            )
        )
        applied = total_of(
            CreditEntry.objects.filter(customer=self.customer), kind=CreditEntry.Kind.APPLIED
        ) - total_of(
            CreditEntry.objects.filter(customer=self.customer), kind=CreditEntry.Kind.UNAPPLIED
        )
        assert stats.total_paid == {"EUR": net_paid + applied}
        assert stats.overdue == sum(i.status == Invoice.Status.OVERDUE for i in invoices)
        not_notes = [i for i in invoices if not i.is_credit_note]
        assert stats.tab_counts == {
            "all": len(not_notes),
            "unpaid": len(open_),
            "paid": sum(i.status in Invoice.SETTLED_STATUSES for i in not_notes),
            "credit_notes": len(invoices) - len(not_notes),
        }

    @invariant()
    def the_ledgers_summary_is_the_invoices_added_up(self):
        assert stored_summary(self.customer) == summary_by_hand(self.customer)

    @invariant()
    def the_credit_is_what_came_in_less_what_went_out(self):
        rows = Payment.objects.filter(invoice__customer=self.customer)
        on_invoices = total_of(rows, kind=Payment.Kind.PAYMENT) - total_of(
            rows, kind__in=[Payment.Kind.REFUND, Payment.Kind.TO_CREDIT]
        )
        entries = CreditEntry.objects.filter(customer=self.customer)
        applied = total_of(entries, kind=CreditEntry.Kind.APPLIED) - total_of(
            entries, kind=CreditEntry.Kind.UNAPPLIED
        )
        refunded = total_of(rows, kind=Payment.Kind.REFUND) + total_of(
            entries, kind=CreditEntry.Kind.REFUNDED
        )
        balance = credit_balance(self.customer, "EUR")
        assert balance >= 0
        assert balance == self.received - (on_invoices + applied) - refunded

    @invariant()
    def stripe_refunds_are_booked_once_and_never_more_than_stripe_reported(self):
        for pk in self.settled:
            intent = f"pi_{pk}"
            booked = total_of(
                Payment.objects.filter(stripe_payment_intent=intent), kind=Payment.Kind.REFUND
            ) + total_of(CreditEntry.objects.filter(payment_intent=intent), kind="refunded")
            assert booked <= Decimal(self.refunded_cents.get(pk, 0)) / 100


@pytest.mark.django_db
def test_the_books_hold_in_every_order_of_events(stripe_standin):
    run_state_machine_as_test(Books)  # sized by the Hypothesis profile (tests/conftest.py)


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
