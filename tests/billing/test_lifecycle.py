"""Statuses that tell the truth: nothing to pay, settled by credit notes, overdue on the customer's
own calendar, and what a customer is told after paying on Stripe's page."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from billing import services, tasks
from billing.models import CheckoutSession, Invoice
from billing.payment_selectors import PaymentOutcome, payment_outcome
from billing.pdf import render_invoice_pdf
from billing.selectors import invoice_stats
from tests.billing.conftest import deliver, pdf_text, status_of
from tests.factories import CustomerFactory, issued_invoice
from tests.htmx import htmx
from tests.stripe_standin import checkout_event


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


# ---- Nothing to pay ----


def test_an_invoice_whose_lines_round_to_zero_is_settled_when_issued(
    owner_client, customer, billing_contact
):
    # 3 x 0.001666 = 0.004998, rounded half-up to 0.00.
    invoice = issued_invoice(
        customer,
        [("vm", "vCPU-hours", "3", "vCPU-h", "0.001666")],
        issue_date=datetime.date(2026, 1, 1),
    )
    assert (invoice.total, invoice.status, invoice.display_status) == (
        Decimal("0.00"),
        "credited",
        "no_charge",
    )
    tasks.flag_overdue_invoices()  # months past its due date
    assert status_of(invoice) == "credited"
    assert mail.outbox == []
    stats = invoice_stats(customer)
    assert (stats.overdue, stats.unpaid, stats.outstanding) == (0, 0, {"EUR": Decimal("0.00")})
    page = owner_client.get(f"/invoices/{invoice.number}/pay/").content.decode()
    assert "there is nothing to pay" in page
    assert "No charge" in owner_client.get("/invoices/?status=paid").content.decode()


# ---- Settled by credit notes ----


def test_an_invoice_covered_by_credit_notes_alone_reads_credited_everywhere(owner_client, invoice):
    first = services.issue_credit_note(
        invoice=invoice, reason="Outage", net_amount=Decimal("100.00"), deliver=False
    )
    rest = invoice.total - Decimal("125.00")  # 100.00 net + 25% VAT credited so far
    second = services.issue_credit_note(
        invoice=invoice, reason="Rest", net_amount=rest / Decimal("1.25"), deliver=False
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.outstanding, invoice.paid_at) == (
        "credited",
        Decimal("0.00"),
        None,
    )
    paid_tab = owner_client.get("/invoices/?status=paid").content.decode()
    row = paid_tab.split(f">{invoice.number}</a>")[1].split("</tr>")[0]
    assert "Credited" in row and "Paid" not in row
    text = "".join(pdf_text(render_invoice_pdf(invoice)))
    assert f"Settled by credit notes {first.number}, {second.number}" in text
    assert "Paid in full" not in text and "PAID" not in text
    # No money came in: Total Paid does not grow.
    assert invoice_stats(invoice.customer).total_paid == {"EUR": Decimal("0.00")}


# ---- Overdue, on the customer's calendar ----


def due_on(day: datetime.date, *, timezone: str) -> Invoice:
    customer = CustomerFactory(timezone=timezone, billing_profile__payment_terms_days=0)
    return issued_invoice(customer, [("vm", "h", "1", "h", "10")], issue_date=day)


@pytest.mark.parametrize(
    ("timezone", "now", "overdue"),
    [
        # Due 10 Nov. In UTC: overdue from the first moment of 11 Nov.
        ("UTC", utc(2026, 11, 10, 23, 59), False),
        ("UTC", utc(2026, 11, 11, 0, 0), True),
        # Los Angeles (UTC-8): 11 Nov 03:00 UTC is still 10 Nov, 19:00 there.
        ("America/Los_Angeles", utc(2026, 11, 11, 3, 0), False),
        ("America/Los_Angeles", utc(2026, 11, 11, 7, 59), False),
        ("America/Los_Angeles", utc(2026, 11, 11, 8, 0), True),
        # Kiritimati (UTC+14): its 11 Nov starts at 10:00 UTC on 10 Nov.
        ("Pacific/Kiritimati", utc(2026, 11, 10, 9, 59), False),
        ("Pacific/Kiritimati", utc(2026, 11, 10, 10, 0), True),
    ],
)
def test_an_invoice_turns_overdue_when_its_due_date_has_passed_where_the_customer_is(
    db, timezone, now, overdue
):
    invoice = due_on(datetime.date(2026, 11, 10), timezone=timezone)
    flagged = services.flag_overdue_invoices(now=now)
    assert (flagged == [invoice.pk]) is overdue
    assert status_of(invoice) == ("overdue" if overdue else "unpaid")


def test_due_today_is_not_overdue_and_due_yesterday_is(db):
    now = utc(2026, 11, 22, 12)
    today = due_on(datetime.date(2026, 11, 22), timezone="Europe/Stockholm")
    yesterday = due_on(datetime.date(2026, 11, 21), timezone="Europe/Stockholm")
    assert services.flag_overdue_invoices(now=now) == [yesterday.pk]
    assert status_of(today) == "unpaid"


# ---- After paying on Stripe's page ----


def test_a_payment_that_needs_review_tells_the_customer_it_was_received(
    client, owner_client, invoice, billing_contact, stripe_standin
):
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    checkout = CheckoutSession.objects.get()
    wrong_amount = checkout_event(
        "evt_1", "checkout.session.completed", session_id=checkout.stripe_id, amount_total=100
    )
    deliver(client, wrong_amount)
    assert payment_outcome(invoice, returned_from_checkout=True) == PaymentOutcome.NEEDS_REVIEW
    poll = owner_client.get(
        f"/invoices/{invoice.number}/?checkout=success",
        **htmx("invoice-status"),
    )
    toast = poll.headers["HX-Trigger"]
    assert "received" in toast and "checking" in toast and "Nothing was charged" not in toast
    sheet = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert "Your card payment was received" in sheet and "Pay Now" not in sheet


def test_a_card_payment_is_dated_when_stripe_took_it_not_when_we_heard(
    client, owner_client, invoice, billing_contact, stripe_standin
):
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    checkout = CheckoutSession.objects.get()
    event = checkout_event(
        "evt_1",
        "checkout.session.completed",
        session_id=checkout.stripe_id,
        amount_total=21286,
    )
    event["created"] = int(utc(2026, 10, 3, 9, 30).timestamp())  # delivered days late
    deliver(client, event)
    invoice.refresh_from_db()
    assert invoice.paid_at == utc(2026, 10, 3, 9, 30)
    assert invoice.payments.get().received_at == utc(2026, 10, 3, 9, 30)
