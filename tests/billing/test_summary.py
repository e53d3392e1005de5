"""The per-customer invoice summary the ledger keeps equals the invoices added up by hand after
every workflow that moves an invoice's status or money, one at a time and all at once on
PostgreSQL (the data migration that first fills it: tests/billing/test_migrations.py)."""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from billing import selectors, services
from billing.exceptions import BillingError
from billing.models import BillingProfile, Invoice
from tests.billing.conftest import stored_summary, summary_by_hand
from tests.concurrency import run_together
from tests.factories import CustomerFactory, issued_invoice

NOW = datetime.datetime(2026, 11, 3, 12, tzinfo=datetime.UTC)


def a_hundred(customer, vat_rate=0):
    return issued_invoice(customer, [("vm", "CPU", "1", "h", "100")], vat_rate=vat_rate)


def test_every_workflow_keeps_the_summary_equal_to_the_invoices_added_up(customer):
    other = CustomerFactory()
    steps = []

    def check(step):
        steps.append(step)
        assert stored_summary(customer) == summary_by_hand(customer), steps

    first = a_hundred(customer, vat_rate=25)
    check("finalized: 125.00 unpaid")
    assert stored_summary(customer)["owed_unpaid"] == Decimal("125.00")
    services.record_bank_payment(invoice=first, amount=Decimal("25.00"), received_at=NOW)
    check("part paid")
    services.record_bank_payment(invoice=first, amount=Decimal("100.00"), received_at=NOW)
    check("paid in full")
    services.issue_credit_note(
        invoice=first, reason="SLA", net_amount=Decimal("20.00"), deliver=False
    )
    check("credit note on a paid invoice: 25.00 freed as credit")
    second = a_hundred(customer)
    check("finalized with the credit applied")
    third = a_hundred(customer)
    services.void_invoice(invoice=third)
    check("voided")
    late = issued_invoice(
        customer, [("vm", "CPU", "1", "h", "40")], vat_rate=0, issue_date=datetime.date(2026, 1, 5)
    )
    services.flag_overdue_invoices(now=timezone.now())
    check("overdue")
    services.record_bank_payment(invoice=late, amount=Decimal("15.00"), received_at=NOW)
    check("overdue, part paid")
    services.issue_credit_note(invoice=second, reason="Wrong", deliver=False)
    check("credited in full: its applied credit goes back to the customer's credit")
    a_hundred(other)
    check("another customer's invoice changes nothing here")
    assert stored_summary(customer) == {
        "invoices_unpaid": 0,
        "invoices_overdue": 1,
        "invoices_paid": 1,
        "invoices_credited": 1,
        "invoices_void": 1,
        "credit_notes": 2,
        "owed_unpaid": Decimal("0.00"),
        "owed_overdue": Decimal("25.00"),
        # first (125.00 paid) and second (100.00, settled by its credit note) are settled
        "settled_total": Decimal("225.00"),
        # 125.00 paid on first less the 25.00 its credit note freed, 15.00 on the late one;
        # the 25.00 of credit applied to second went back to credit with its credit note
        "received": Decimal("115.00"),
    }


def test_a_refused_workflow_leaves_the_summary_as_it_was(customer):
    invoice = a_hundred(customer)
    before = stored_summary(customer)
    with pytest.raises(BillingError):
        services.record_bank_payment(invoice=invoice, amount=Decimal("100.01"), received_at=NOW)
    services.record_bank_payment(invoice=invoice, amount=Decimal("1.00"), received_at=NOW)
    with pytest.raises(BillingError):
        services.void_invoice(invoice=invoice)  # something was paid: a credit note instead
    assert stored_summary(customer) == summary_by_hand(customer) != before


def test_the_cards_read_one_row_however_many_invoices(customer, django_assert_num_queries):
    for _ in range(3):
        a_hundred(customer)
    with django_assert_num_queries(2):  # the summary, and the credit balance
        stats = selectors.invoice_stats(customer)
    assert (stats.total, stats.unpaid, stats.outstanding) == (3, 3, {"EUR": Decimal("300.00")})
    with django_assert_num_queries(1):
        status = selectors.billing_status(customer)
    assert [(s.status, s.count, s.amount) for s in status.shares] == [
        ("paid", 0, {}),
        ("unpaid", 3, {"EUR": Decimal("300.00")}),
        ("overdue", 0, {}),
    ]


def test_a_customer_who_has_paid_nothing_reads_no_more_than_one_who_has(
    customer, django_assert_num_queries
):
    a_hundred(customer)
    # Billed in SEK from now on: its one invoice is in euros, and so is its zero Total Paid.
    BillingProfile.objects.filter(customer=customer).update(currency="SEK")
    fresh = Customer.objects.get(pk=customer.pk)

    with django_assert_num_queries(2):  # the summary, and the credit balance
        stats = selectors.invoice_stats(fresh)

    assert (stats.outstanding, stats.total_paid) == ({"EUR": Decimal("100.00")}, {"EUR": 0})


def test_a_customer_without_invoices_has_zero_cards(customer):
    stats = selectors.invoice_stats(customer)
    assert (stats.total, stats.outstanding, stats.total_paid) == (0, {"EUR": 0}, {"EUR": 0})


@pytest.mark.django_db(transaction=True)
def test_workflows_at_once_on_postgresql_keep_the_summary_exact(postgres, customer):
    """Payments, credit notes, voids, finalizing and the overdue run on one customer's invoices
    at the same moment: each books its change on the locked summary row, none is lost."""
    old = issued_invoice(
        customer, [("vm", "CPU", "1", "h", "50")], vat_rate=0, issue_date=datetime.date(2026, 1, 5)
    )
    for _ in range(3):
        invoices = [a_hundred(customer) for _ in range(4)]

        def pay(invoice, amount):
            def work():
                with contextlib.suppress(BillingError):  # settled by another thread first
                    services.record_bank_payment(
                        invoice=invoice, amount=Decimal(amount), received_at=NOW
                    )

            return work

        def credit(invoice):
            def work():
                with contextlib.suppress(BillingError):
                    services.issue_credit_note(
                        invoice=invoice, reason="x", net_amount=Decimal("30.00"), deliver=False
                    )

            return work

        errors = run_together(
            pay(invoices[0], "100.00"),
            pay(invoices[0], "40.00"),
            pay(invoices[1], "10.00"),
            pay(old, "5.00"),
            credit(invoices[1]),
            credit(invoices[2]),
            lambda void=invoices[3]: services.void_invoice(invoice=void),
            lambda: a_hundred(customer),
            lambda: services.flag_overdue_invoices(now=timezone.now()),
        )
        assert errors == []
        assert stored_summary(customer) == summary_by_hand(customer)
    assert Invoice.objects.filter(customer=customer, status="void").count() == 3
    assert Invoice.objects.get(pk=old.pk).status == "overdue"
