"""The books stay right in every order of events.

Hypothesis drives one customer through random sequences of invoices, card checkouts of one or
several invoices, bank payments, credit notes, Stripe refunds (partial, full, cumulative, early),
redelivered webhooks, voids, the overdue job and staff refunds of credit. After every step the test
recomputes everything from the rows, by hand, and compares it with what the portal shows.
The second machine, monthly invoicing while staff change prices, is test_prices_state_machine.py.
Runs on SQLite in `make test` and on PostgreSQL in CI.
"""

import contextlib
import datetime
import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Membership
from billing import checkout, services, webhooks
from billing.exceptions import BillingError
from billing.models import CheckoutSession, CreditEntry, Invoice, Payment
from billing.selectors import credit_balance, invoice_stats
from core.money import to_minor_units
from tests.billing.conftest import stored_summary, summary_by_hand
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice
from tests.stripe_standin import checkout_event, refund_event

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
