"""The invoice lifecycle: finalize, immutability, void, credit notes, bank payments, overdue."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from billing import services
from billing.exceptions import BillingError, ImmutableInvoice
from billing.models import CreditEntry, Invoice, InvoiceLine, InvoiceSequence, Payment
from billing.services import LineSpec
from tests.billing.conftest import TOTAL, status_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.both_databases

NOON = datetime.time(12, tzinfo=datetime.UTC)


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, NOON)


def test_finalizing_gives_number_dates_and_status(customer):
    customer.billing_profile.payment_terms_days = 14
    customer.billing_profile.save()
    draft = services.create_draft(customer=customer)
    assert draft.number is None and draft.status == "draft"
    services.add_lines(
        invoice=draft, lines=[LineSpec("vm", "vCPU-hours", Decimal(1), "h", Decimal(5))]
    )
    invoice = services.finalize_invoice(
        invoice=draft, issue_date=datetime.date(2026, 2, 20), deliver=False
    )
    assert invoice.number == "INV-2026-0001"
    assert invoice.due_date == datetime.date(2026, 3, 6)
    assert invoice.status == "unpaid"
    assert list(invoice.events.values_list("kind", flat=True)) == ["finalized"]


def test_numbers_are_gapless_per_year_and_restart_in_a_new_year(make_invoice):
    numbers = [
        make_invoice(issue_date=datetime.date(2025, 12, 30)).number,
        make_invoice(issue_date=datetime.date(2025, 12, 31)).number,
        make_invoice(issue_date=datetime.date(2026, 1, 1)).number,
        make_invoice(issue_date=datetime.date(2026, 1, 2)).number,
    ]
    assert numbers == ["INV-2025-0001", "INV-2025-0002", "INV-2026-0001", "INV-2026-0002"]


def test_a_failed_finalization_leaves_no_gap(customer, make_invoice):
    empty = services.create_draft(customer=customer)
    with pytest.raises(BillingError, match="at least one line"):
        services.finalize_invoice(invoice=empty, issue_date=datetime.date(2026, 5, 1))
    assert make_invoice(issue_date=datetime.date(2026, 5, 1)).number == "INV-2026-0001"


def test_a_number_is_never_taken_by_a_rolled_back_transaction(make_invoice, customer):
    draft = services.create_draft(customer=customer)
    services.add_lines(invoice=draft, lines=[LineSpec("vm", "x", Decimal(1), "h", Decimal(1))])
    with pytest.raises(RuntimeError), transaction.atomic():
        services.finalize_invoice(invoice=draft, issue_date=datetime.date(2026, 5, 1))
        raise RuntimeError("the request failed after finalizing")
    assert InvoiceSequence.objects.filter(year=2026).first() is None
    assert make_invoice(issue_date=datetime.date(2026, 5, 2)).number == "INV-2026-0001"


def test_finalizing_twice_is_refused(invoice):
    with pytest.raises(BillingError, match="already finalized"):
        services.finalize_invoice(invoice=invoice)


def test_a_finalized_invoice_is_immutable(invoice):
    with pytest.raises(BillingError, match="lines cannot change"):
        services.add_lines(
            invoice=invoice, lines=[LineSpec("vm", "extra", Decimal(1), "h", Decimal(1))]
        )
    line = invoice.lines.first()
    line.quantity = Decimal("99")
    with pytest.raises(ImmutableInvoice):
        line.save()
    with pytest.raises(ImmutableInvoice):
        line.delete()
    assert InvoiceLine.objects.get(pk=line.pk).quantity == Decimal("2160")
    invoice.refresh_from_db()
    assert invoice.total == TOTAL


def test_voiding_an_unpaid_invoice(invoice):
    services.void_invoice(invoice=invoice, reason="Issued to the wrong customer")
    assert status_of(invoice) == "void"
    assert invoice.events.last().message == "Issued to the wrong customer"


def test_a_paid_or_partly_paid_invoice_cannot_be_voided(invoice):
    services.record_bank_payment(
        invoice=invoice, amount=Decimal("10"), received_at=at(invoice.issue_date)
    )
    with pytest.raises(BillingError, match="issue a credit note instead"):
        services.void_invoice(invoice=invoice)
    assert status_of(invoice) == "unpaid"


def test_partial_then_full_bank_payments(invoice):
    services.record_bank_payment(
        invoice=invoice, amount=Decimal("100.00"), received_at=at(datetime.date(2026, 10, 5))
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.outstanding) == (
        "unpaid",
        Decimal("100.00"),
        Decimal("112.86"),
    )
    services.record_bank_payment(
        invoice=invoice,
        amount=Decimal("112.86"),
        received_at=at(datetime.date(2026, 10, 9)),
        reference="ACME-991",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.outstanding) == ("paid", Decimal("0.00"))
    assert invoice.paid_at == at(datetime.date(2026, 10, 9))
    assert list(invoice.payments.values_list("amount", flat=True)) == [
        Decimal("100.00"),
        Decimal("112.86"),
    ]


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "more than zero"),
        ("-5", "more than zero"),
        ("212.87", "more than the 212.86 EUR outstanding"),
    ],
)
def test_bad_bank_payments_are_refused_and_nothing_is_stored(invoice, amount, error):
    with pytest.raises(BillingError, match=error):
        services.record_bank_payment(
            invoice=invoice, amount=Decimal(amount), received_at=at(invoice.issue_date)
        )
    assert Payment.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("0.00")


def test_a_paid_invoice_takes_no_more_payments(invoice):
    services.record_bank_payment(invoice=invoice, amount=TOTAL, received_at=at(invoice.issue_date))
    with pytest.raises(BillingError, match="is paid: nothing is owed"):
        services.record_bank_payment(
            invoice=invoice, amount=Decimal("1"), received_at=at(invoice.issue_date)
        )
    assert Payment.objects.count() == 1


def test_credit_note_references_the_invoice_and_is_settled(invoice):
    note = services.issue_credit_note(
        invoice=invoice, reason="SLA", net_amount=Decimal("10"), deliver=False
    )
    assert note.kind == "credit_note"
    assert note.credited_invoice == invoice
    assert note.number == "INV-2026-0002"  # one gapless series for every document
    assert note.status == "credited" and note.display_status == "credited"
    assert note.outstanding == Decimal("0.00")


def test_crediting_more_than_was_invoiced_is_refused(invoice):
    with pytest.raises(BillingError, match="is more than the 212.86 EUR left to credit"):
        services.issue_credit_note(invoice=invoice, reason="x", net_amount=Decimal("170.30"))
    assert Invoice.objects.filter(kind="credit_note").count() == 0
    invoice.refresh_from_db()
    assert invoice.amount_credited == Decimal("0.00")


def test_crediting_a_paid_invoice_keeps_what_was_overpaid_as_customer_credit(invoice):
    services.record_bank_payment(invoice=invoice, amount=TOTAL, received_at=at(invoice.issue_date))
    note = services.issue_credit_note(
        invoice=invoice, reason="SLA", net_amount=Decimal("8"), deliver=False
    )
    # 8.00 net + 25% VAT = 10.00 credited on a paid invoice: 10.00 of the payment is not needed.
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_credited) == (
        "paid",
        TOTAL - Decimal("10.00"),
        Decimal("10.00"),
    )
    freed = CreditEntry.objects.get()
    assert (freed.kind, freed.amount, freed.invoice, freed.credit_note) == (
        "freed",
        Decimal("10.00"),
        invoice,
        note,
    )
    assert invoice.events.filter(kind="moved_to_credit").exists()


@pytest.mark.parametrize("kind", ["draft", "void", "credit_note"])
def test_only_issued_invoices_can_be_credited(customer, invoice, kind):
    if kind == "draft":
        target = services.create_draft(customer=customer)
    elif kind == "void":
        target = services.void_invoice(invoice=invoice)
    else:
        target = services.issue_credit_note(invoice=invoice, reason="x", net_amount=Decimal(1))
    with pytest.raises(BillingError, match="not an issued invoice"):
        services.issue_credit_note(invoice=target, reason="again")


def test_flagging_overdue_is_idempotent(customer, make_invoice):
    customer.billing_profile.payment_terms_days = 10
    customer.billing_profile.save()
    late = make_invoice(issue_date=datetime.date(2026, 10, 1))  # due 11 Oct
    on_time = make_invoice(issue_date=datetime.date(2026, 10, 15))  # due 25 Oct
    paid = make_invoice(issue_date=datetime.date(2026, 9, 1))
    services.record_bank_payment(invoice=paid, amount=paid.total, received_at=at(paid.issue_date))

    assert services.flag_overdue_invoices(
        now=datetime.datetime(2026, 10, 20, 12, tzinfo=datetime.UTC)
    ) == [late.pk]
    assert (
        services.flag_overdue_invoices(now=datetime.datetime(2026, 10, 20, 12, tzinfo=datetime.UTC))
        == []
    )
    assert (status_of(late), status_of(on_time), status_of(paid)) == ("overdue", "unpaid", "paid")
    assert late.events.filter(kind="marked_overdue").count() == 1


def test_an_overdue_invoice_can_still_be_paid(customer, make_invoice):
    invoice = make_invoice(issue_date=datetime.date(2026, 1, 1))
    services.flag_overdue_invoices(now=datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC))
    services.record_bank_payment(
        invoice=invoice, amount=invoice.total, received_at=at(datetime.date(2026, 6, 2))
    )
    assert status_of(invoice) == "paid"


def test_due_date_follows_each_customers_terms(make_invoice):
    slow = CustomerFactory(billing_profile__payment_terms_days=45)
    invoice = make_invoice(issue_date=datetime.date(2026, 1, 31), for_customer=slow)
    assert invoice.due_date == datetime.date(2026, 3, 17)
