"""The customer's credit: where every cent comes from (overpayments, credit notes), where it
goes (the next invoices, refunds), and that the customer sees it."""

import datetime
from decimal import Decimal

import pytest

from billing import services
from billing.models import CheckoutSession, CreditEntry
from billing.pdf import render_invoice_pdf
from billing.selectors import credit_balance, invoice_stats
from tests.billing.conftest import deliver, pdf_text
from tests.factories import issued_invoice
from tests.stripe_standin import checkout_event

pytestmark = pytest.mark.both_databases

NOON = datetime.time(12, tzinfo=datetime.UTC)


def one_line(customer, amount: str, *, issue_date=None):
    return issued_invoice(
        customer,
        [("compute", "vCPU-hours", "1", "vCPU-h", amount)],
        issue_date=issue_date,
        vat_rate=Decimal("0.00"),
    )


def entries(customer):
    return list(
        CreditEntry.objects.filter(customer=customer)
        .order_by("pk")
        .values_list("kind", "amount", "invoice__number")
    )


@pytest.fixture
def credit_50(customer):
    """50.00 of credit: a paid invoice of 100.00 credited by 50.00 (the payment is not needed)."""
    paid = one_line(customer, "100.00", issue_date=datetime.date(2026, 9, 1))
    services.record_bank_payment(
        invoice=paid,
        amount=Decimal("100.00"),
        received_at=datetime.datetime.combine(datetime.date(2026, 9, 10), NOON),
    )
    services.issue_credit_note(
        invoice=paid, reason="Goodwill", net_amount=Decimal("50.00"), deliver=False
    )
    assert credit_balance(customer, "EUR") == Decimal("50.00")
    return paid


def test_credit_is_applied_to_the_next_invoice_when_it_is_issued(customer, credit_50):
    later = one_line(customer, "80.00")
    assert (later.status, later.credit_applied, later.outstanding) == (
        "unpaid",
        Decimal("50.00"),
        Decimal("30.00"),
    )
    assert credit_balance(customer, "EUR") == Decimal("0.00")
    assert entries(customer) == [
        ("freed", Decimal("50.00"), credit_50.number),
        ("applied", Decimal("50.00"), later.number),
    ]
    assert later.events.filter(kind="credit_applied").get().text == (
        "€50.00 of your credit applied."
    )
    # Nothing is left for the invoice after it.
    assert one_line(customer, "10.00").credit_applied == Decimal("0.00")


def test_credit_goes_to_the_invoices_in_the_order_they_are_issued(customer, credit_50):
    first = one_line(customer, "30.00")
    second = one_line(customer, "30.00")
    assert (first.status, first.credit_applied, first.outstanding) == (
        "paid",
        Decimal("30.00"),
        Decimal("0.00"),
    )
    assert (second.credit_applied, second.outstanding) == (Decimal("20.00"), Decimal("10.00"))


def test_an_invoice_covered_by_credit_is_paid_and_its_pdf_says_credit_applied(customer, credit_50):
    covered = one_line(customer, "50.00")
    assert (covered.status, covered.paid_at) == ("paid", covered.finalized_at)
    text = "".join(pdf_text(render_invoice_pdf(covered)))
    assert "Credit applied −€50.00" in text and "Amount due €0.00" in text
    assert "Paid in full" in text and "Please pay" not in text


def test_staff_refund_credit_and_cannot_refund_more_than_is_held(customer, credit_50, admin_client):
    url = f"/admin/billing/creditentry/refund/{customer.pk}/"
    too_much = admin_client.post(url, {"amount": "50.01", "reference": "SEB 1"})
    assert "cannot be refunded" in too_much.content.decode()
    assert credit_balance(customer, "EUR") == Decimal("50.00")

    response = admin_client.post(url, {"amount": "20.00", "reference": "SEB 2"})
    assert response.status_code == 302
    refund = CreditEntry.objects.get(kind="refunded")
    assert (refund.amount, refund.reference, refund.actor.email) == (
        Decimal("20.00"),
        "SEB 2",
        "admin@example.com",
    )
    assert credit_balance(customer, "EUR") == Decimal("30.00")


@pytest.mark.parametrize("amount", ["0", "-5", "abc", ""])
def test_a_credit_refund_of_a_bad_amount_is_refused(customer, credit_50, admin_client, amount):
    url = f"/admin/billing/creditentry/refund/{customer.pk}/"
    response = admin_client.post(url, {"amount": amount})
    assert response.status_code == 200  # the form again, with the error
    assert not CreditEntry.objects.filter(kind="refunded").exists()


def test_credit_entries_cannot_be_added_changed_or_deleted_by_hand(admin_client, credit_50):
    entry = CreditEntry.objects.get()
    assert admin_client.get("/admin/billing/creditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/billing/creditentry/{entry.pk}/delete/").status_code == 403
    assert CreditEntry.objects.count() == 1


def test_the_customer_sees_the_credit_on_the_invoices_page_and_in_the_pay_dialog(
    owner_client, customer
):
    due = one_line(customer, "100.00")  # issued before there was any credit
    paid = one_line(customer, "100.00")
    services.record_bank_payment(
        invoice=paid, amount=Decimal("100.00"), received_at=datetime.datetime.now(datetime.UTC)
    )
    services.issue_credit_note(
        invoice=paid, reason="Goodwill", net_amount=Decimal("50.00"), deliver=False
    )
    assert invoice_stats(customer).credit == {"EUR": Decimal("50.00")}
    assert "€50.00 credit" in owner_client.get("/invoices/").content.decode()
    dialog = owner_client.get(f"/invoices/{due.number}/pay/").content.decode()
    assert "Your account holds €50.00 of credit" in dialog


def test_without_credit_nothing_about_it_is_shown(owner_client, customer):
    due = one_line(customer, "100.00")
    assert "credit" not in owner_client.get(f"/invoices/{due.number}/pay/").content.decode()


def test_an_overpaid_checkout_keeps_the_rest_as_credit_and_it_pays_the_next_invoice(
    client, owner_client, customer, billing_contact, stripe_standin
):
    a = one_line(customer, "100.00")
    b = one_line(customer, "50.00")
    owner_client.post("/invoices/pay/", {"number": [a.number, b.number]})
    checkout = CheckoutSession.objects.get()
    services.record_bank_payment(
        invoice=b, amount=Decimal("50.00"), received_at=datetime.datetime.now(datetime.UTC)
    )
    event = checkout_event(
        "evt_1", "checkout.session.completed", session_id=checkout.stripe_id, amount_total=15000
    )
    assert deliver(client, event).json()["outcome"] == "paid; €50.00 kept as customer credit"
    overpayment = CreditEntry.objects.get()
    assert (overpayment.kind, overpayment.amount, overpayment.payment_intent) == (
        "overpayment",
        Decimal("50.00"),
        "pi_test_1",
    )
    c = one_line(customer, "70.00")
    assert (c.credit_applied, c.outstanding) == (Decimal("50.00"), Decimal("20.00"))
