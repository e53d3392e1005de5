"""The billing team's admin: finding invoices and running the workflows on them."""

import datetime
from decimal import Decimal

import pytest

from billing.models import Invoice, Payment
from tests.billing.conftest import status_of

ADMIN = "/admin/billing/invoice/"


@pytest.fixture
def staff(admin_client):
    return admin_client


def act(staff, action, *invoices):
    return staff.post(
        ADMIN,
        {"action": action, "_selected_action": [invoice.pk for invoice in invoices]},
        follow=True,
    )


def test_the_list_searches_and_filters(staff, invoice, make_invoice):
    other = make_invoice()
    page = staff.get(ADMIN, {"q": invoice.number}).content.decode()
    assert invoice.number in page and other.number not in page
    assert staff.get(ADMIN, {"status__exact": "unpaid"}).status_code == 200
    assert staff.get(ADMIN, {"q": invoice.customer.name}).status_code == 200


def test_finalize_action_numbers_a_draft(staff, customer):
    from billing import services
    from billing.services import LineSpec

    draft = services.create_draft(customer=customer)
    services.add_lines(invoice=draft, lines=[LineSpec("vm", "x", Decimal(2), "h", Decimal(5))])
    act(staff, "finalize_selected", draft)
    draft.refresh_from_db()
    assert draft.status == "unpaid" and draft.number.startswith("INV-")


def test_void_action_refuses_a_paid_invoice_with_a_message(staff, invoice):
    from billing import services

    services.record_bank_payment(
        invoice=invoice, amount=Decimal("1"), received_at=datetime.datetime.now(datetime.UTC)
    )
    page = act(staff, "void_selected", invoice).content.decode()
    assert "issue a credit note instead" in page
    assert status_of(invoice) == "unpaid"


def test_full_credit_action(staff, invoice):
    act(staff, "credit_selected_in_full", invoice)
    assert status_of(invoice) == "credited"
    assert Invoice.objects.get(credited_invoice=invoice).total == -invoice.total


def test_record_bank_payment_form(staff, invoice):
    url = f"{ADMIN}{invoice.pk}/record-payment/"
    today = datetime.datetime.now(datetime.UTC).date()
    response = staff.post(
        url, {"amount": "12.86", "received_on": today.isoformat(), "reference": "BANK-1"}
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.method) == (
        Decimal("12.86"),
        "BANK-1",
        "bank_transfer",
    )


def test_record_bank_payment_action_opens_the_form_for_one_invoice(staff, invoice, make_invoice):
    response = staff.post(
        ADMIN, {"action": "record_bank_payment", "_selected_action": [invoice.pk]}
    )
    assert response["Location"] == f"{ADMIN}{invoice.pk}/record-payment/"
    other = make_invoice()
    page = act(staff, "record_bank_payment", invoice, other).content.decode()
    assert "Select exactly one invoice." in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"amount": "-1", "received_on": "2026-10-01"}, "greater than or equal to 0.01"),
        ({"amount": "abc", "received_on": "2026-10-01"}, "Enter a number."),
        ({"amount": "1.001", "received_on": "2026-10-01"}, "no more than 2 decimal places"),
        ({"amount": "999999", "received_on": "2026-10-01"}, "more than the 212.86 EUR outstanding"),
        ({"amount": "10", "received_on": "2999-01-01"}, "cannot be received in the future"),
        ({"amount": "10", "received_on": "yesterday"}, "Enter a valid date."),
    ],
)
def test_bad_bank_payments_are_refused_in_the_form(staff, invoice, data, error):
    response = staff.post(f"{ADMIN}{invoice.pk}/record-payment/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Payment.objects.count() == 0


def test_credit_note_form_by_amount(staff, invoice):
    response = staff.post(f"{ADMIN}{invoice.pk}/credit-note/", {"net_amount": "8", "reason": "SLA"})
    assert response.status_code == 302
    note = Invoice.objects.get(credited_invoice=invoice)
    assert (note.total, note.reason) == (Decimal("-10.00"), "SLA")


def test_lines_of_a_finalized_invoice_are_read_only(staff, invoice):
    page = staff.get(f"{ADMIN}{invoice.pk}/change/").content.decode()
    assert 'name="lines-0-quantity"' not in page
    assert "Record bank payment" in page and "Issue credit note" in page


def test_issued_invoices_cannot_be_deleted(staff, invoice):
    assert staff.post(f"{ADMIN}{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_admin_pdf_link_serves_the_pdf(staff, invoice):
    response = staff.get(f"{ADMIN}{invoice.pk}/pdf/")
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_customers_cannot_reach_the_admin(owner_client, invoice):
    response = owner_client.get(f"{ADMIN}{invoice.pk}/record-payment/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_invoice_list_colours_statuses_without_inline_styles(staff, invoice):
    """The CSP allows no inline style: the status colours come from the admin stylesheet."""
    page = staff.get("/admin/billing/invoice/").content.decode()
    assert "style=" not in page
    assert f'<strong class="invoice-status-{invoice.status}">' in page
    assert "css/admin.css" in page
