"""Monthly invoices from usage: lines priced by hand from rollup rows, in the reader's language,
one invoice per customer and month however often invoicing runs, and what it refuses."""

import datetime
import logging

import pytest
from django.core import mail

from billing import invoicing
from billing.exceptions import NotInvoiceable
from billing.models import Invoice, UninvoicedMonth
from billing.pdf import invoice_html
from core.money import line_amount
from tests.billing.invoicing.conftest import (
    EXPECTED_LINES,
    OCTOBER,
    D,
    lines_of,
    october_usage,
    usage_invoices,
    used,
)
from tests.factories import ContactFactory, CustomerFactory, issued_invoice
from usage.pricing import cost

pytestmark = pytest.mark.both_databases


def test_a_months_usage_becomes_one_line_per_service_and_metric_priced_by_hand(
    in_november, customer
):
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)

    assert lines_of(invoice) == EXPECTED_LINES
    totals = (invoice.subtotal, invoice.vat_amount, invoice.total)
    assert totals == (D("16.31"), D("4.08"), D("20.39"))
    assert invoice.status == Invoice.Status.UNPAID and invoice.number == "INV-2026-0001"
    assert (invoice.period_start, invoice.period_end) == (OCTOBER, datetime.date(2026, 10, 31))
    assert invoice.usage_month == OCTOBER
    assert invoice.period_label == "1 Oct 2026 – 31 Oct 2026"
    # Issued on the customer's date (their time zone is UTC) and due after their 30 days.
    assert invoice.issue_date == datetime.date(2026, 11, 10)
    assert invoice.due_date == datetime.date(2026, 12, 10)


@pytest.mark.django_db
def test_usage_lines_read_in_the_readers_language_and_are_stored_in_english(in_november, customer):
    customer.billing_profile.invoice_language = "sv"
    customer.billing_profile.save()
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    storage = invoice.lines.get(service="k8s-prod", metric="storage")
    assert (storage.description, storage.unit) == ("Storage (GB-months), October 2026", "GB-month")
    assert storage.month == OCTOBER

    text = " ".join(invoice_html(invoice).split())
    assert "Lagring (GB-månader), oktober 2026" in text
    assert "CPU-timmar (vCPU-timmar), oktober 2026" in text
    assert "Bandbredd (överförda GB), oktober 2026" in text
    assert "GB-månad" in text and "Storage (GB-months)" not in text


@pytest.mark.django_db
def test_a_line_staff_wrote_reads_as_written_in_every_language(customer):
    customer.billing_profile.invoice_language = "sv"
    customer.billing_profile.save()
    invoice = issued_invoice(customer, [("support", "Onboarding workshop", "1", "day", "900")])
    assert "Onboarding workshop" in invoice_html(invoice)


@pytest.mark.django_db
def test_every_line_amount_is_the_usage_pages_cost_for_it(in_november, customer):
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    metered = {  # (service, metric) -> quantity in the metered unit, summed by hand
        ("db-primary", "storage"): D("1000"),
        ("db-primary", "bandwidth"): D("123.456789"),
        ("k8s-prod", "cpu"): D("300.75"),
        ("k8s-prod", "memory"): D("1000"),
        ("k8s-prod", "storage"): D("10950"),
        ("web", "cpu"): D("0.1"),
    }
    lines = list(invoice.lines.all())
    assert len(lines) == len(metered)
    for line, ((_service, metric), quantity) in zip(lines, metered.items(), strict=True):
        assert line.amount == line_amount(line.quantity, line.unit_price, "EUR")
        assert line.amount == cost(metric, quantity, line.unit_price, "EUR")


@pytest.mark.django_db
def test_issuing_a_month_twice_gives_one_invoice_per_customer(in_november, customer):
    other = CustomerFactory()
    october_usage(customer)
    used(other, "api", "bandwidth", datetime.date(2026, 10, 31), "1000")  # 1000 × 0.01 = 10.00

    first = invoicing.issue_monthly_invoices(OCTOBER)
    again = invoicing.issue_monthly_invoices(OCTOBER)

    assert sorted(invoice.customer_id for invoice in first) == sorted([customer.pk, other.pk])
    assert again == []
    assert usage_invoices().count() == 2
    assert usage_invoices(other).get().total == D("12.50")  # 10.00 + 25% VAT (a Swedish firm)
    invoice, created = invoicing.issue_monthly_invoice(customer, datetime.date(2026, 10, 17))
    assert not created and invoice == usage_invoices(customer).get()


@pytest.mark.django_db
def test_a_run_that_loses_the_race_returns_the_invoice_the_other_run_issued(
    in_november, customer, monkeypatch
):
    october_usage(customer)
    (winner,) = invoicing.issue_monthly_invoices(OCTOBER)
    # The loser looked before the winner committed: it saw no invoice, and inserts its own.
    real_lookup, looks = invoicing._usage_invoice, []

    def lookup(customer, month):
        looks.append(month)
        return None if len(looks) == 1 else real_lookup(customer, month)

    monkeypatch.setattr(invoicing, "_usage_invoice", lookup)

    invoice, created = invoicing.issue_monthly_invoice(customer, OCTOBER)

    assert (invoice, created) == (winner, False)
    assert len(looks) == 2
    assert Invoice.objects.count() == 1
    assert winner.lines.count() == len(EXPECTED_LINES)


@pytest.mark.django_db
def test_customers_without_usage_in_the_month_get_no_invoice(in_november, customer):
    quiet = CustomerFactory()
    used(quiet, "api", "cpu", datetime.date(2026, 9, 30), "50")  # September only
    tiny = CustomerFactory()
    used(tiny, "api", "memory", datetime.date(2026, 10, 2), "0.00004")  # prints as 0.0000

    assert invoicing.issue_monthly_invoices(OCTOBER) == []
    assert invoicing.issue_monthly_invoice(customer, OCTOBER) == (None, False)
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_hand_made_invoices_do_not_count_as_the_months_usage_invoice(in_november, customer):
    by_hand = issued_invoice(customer, [("support", "Premium support", "1", "month", "100")])
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    assert invoice != by_hand and by_hand.usage_month is None


@pytest.mark.django_db
def test_a_customer_without_a_plan_in_its_currency_is_not_invoiced_and_needs_attention(
    in_november, customer, caplog
):
    dollars = CustomerFactory(billing_profile__currency="USD")
    used(dollars, "api", "cpu", datetime.date(2026, 10, 2), "100")
    october_usage(customer)

    with caplog.at_level(logging.WARNING, logger="billing.invoicing"):
        issued = invoicing.issue_monthly_invoices(OCTOBER)

    assert [invoice.customer for invoice in issued] == [customer]
    assert not Invoice.objects.filter(customer=dollars).exists()
    assert f"Monthly invoice of {dollars.number} for 2026-10-01 not issued" in caplog.text
    row = UninvoicedMonth.objects.get(customer=dollars, usage_month=OCTOBER, resolved_at=None)
    assert row.reason == UninvoicedMonth.Reason.NO_PLAN_IN_CURRENCY
    assert "billed in USD but its price plan for October 2026 is in EUR" in row.detail
    assert "never converted" in row.detail


@pytest.mark.django_db
def test_a_month_that_is_not_over_is_refused(time_machine, customer):
    # 1 November 00:30 in Stockholm is still 31 October in UTC, where usage is counted.
    time_machine.move_to(datetime.datetime(2026, 10, 31, 23, 30, tzinfo=datetime.UTC))
    october_usage(customer)
    with pytest.raises(NotInvoiceable, match="October 2026 is not over yet"):
        invoicing.issue_monthly_invoice(customer, OCTOBER)
    assert invoicing.issue_monthly_invoices(OCTOBER) == []
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_the_invoice_is_rendered_and_emailed_like_any_other(
    in_november, customer, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    october_usage(customer)
    with django_capture_on_commit_callbacks(execute=True):
        (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    (message,) = mail.outbox
    assert message.to == ["ap@acme.example"]
    assert invoice.number in message.subject and "€20.39" in message.body
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.emailed_at and invoice.deliver
    assert list(invoice.events.values_list("kind", flat=True)) == [
        "finalized",
        "pdf_rendered",
        "emailed",
    ]
