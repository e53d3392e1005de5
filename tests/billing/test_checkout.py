"""Starting a payment: the Checkout Session the portal asks Stripe for, and when it refuses."""

import datetime
from decimal import Decimal

import pytest

from billing import services
from billing.models import BillingProfile, CheckoutSession
from tests.billing.conftest import TOTAL
from tests.factories import CustomerFactory, issued_invoice
from tests.htmx import HTMX


def pay(client, invoice, **extra):
    return client.post(f"/invoices/{invoice.number}/pay/", **extra)


def test_pay_now_opens_a_checkout_session_for_the_outstanding_amount(
    owner_client, customer, invoice, billing_contact, stripe_standin
):
    response = pay(owner_client, invoice)
    assert response.status_code == 303
    (session_call,) = stripe_standin.calls("/v1/checkout/sessions")
    assert response["Location"] == f"{stripe_standin.url}/checkout/cs_test_2"
    form = session_call.form
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "21286"  # €212.86 in cents
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][product_data][name]"] == f"Invoice {invoice.number}"
    assert form["metadata[invoice_numbers]"] == invoice.number
    assert form["payment_intent_data[metadata][invoice_numbers]"] == invoice.number
    assert form["client_reference_id"] == invoice.number
    assert form["success_url"] == f"http://testserver/invoices/{invoice.number}/?checkout=success"
    assert form["cancel_url"] == f"http://testserver/invoices/{invoice.number}/?checkout=cancelled"
    assert session_call.headers["Idempotency-Key"].startswith(f"checkout-{invoice.number}-1-")
    assert session_call.headers["Authorization"] == "Bearer sk_test_standin"

    # The Stripe customer is made on first use and kept.
    (customer_call,) = stripe_standin.calls("/v1/customers")
    assert customer_call.form["email"] == "ap@acme.example"
    assert BillingProfile.objects.get(customer=customer).stripe_customer_id == "cus_test_1"
    assert form["customer"] == "cus_test_1"
    checkout = CheckoutSession.objects.get()
    assert (checkout.amount_total, checkout.status) == (TOTAL, "open")


def test_an_open_session_is_reused_not_duplicated(owner_client, invoice, stripe_standin):
    first = pay(owner_client, invoice)
    second = pay(owner_client, invoice)
    assert first["Location"] == second["Location"]
    assert len(stripe_standin.calls("/v1/checkout/sessions")) == 1
    assert CheckoutSession.objects.count() == 1
    assert len(stripe_standin.calls("/v1/customers")) == 1


def test_a_changed_amount_opens_a_new_attempt(owner_client, invoice, stripe_standin):
    pay(owner_client, invoice)
    services.record_bank_payment(
        invoice=invoice,
        amount=Decimal("12.86"),
        received_at=datetime.datetime.now(datetime.UTC),
    )
    pay(owner_client, invoice)
    first, second = stripe_standin.calls("/v1/checkout/sessions")
    assert second.form["line_items[0][price_data][unit_amount]"] == "20000"
    assert second.headers["Idempotency-Key"].startswith(f"checkout-{invoice.number}-2-")


def test_an_expired_session_is_not_reused(owner_client, invoice, stripe_standin):
    pay(owner_client, invoice)
    CheckoutSession.objects.update(expires_at=datetime.datetime.now(datetime.UTC))
    pay(owner_client, invoice)
    assert len(stripe_standin.calls("/v1/checkout/sessions")) == 2


def test_a_paid_invoice_cannot_be_paid_again(owner_client, invoice, stripe_standin):
    services.record_bank_payment(
        invoice=invoice, amount=TOTAL, received_at=datetime.datetime.now(datetime.UTC)
    )
    response = pay(owner_client, invoice, follow=True)
    assert f"Nothing to pay on {invoice.number} (paid)." in response.content.decode()
    assert stripe_standin.requests == []
    assert CheckoutSession.objects.count() == 0


def test_a_void_invoice_cannot_be_paid(owner_client, invoice, stripe_standin):
    services.void_invoice(invoice=invoice)
    response = pay(owner_client, invoice, follow=True)
    assert "(void)" in response.content.decode()
    assert stripe_standin.requests == []


def test_a_draft_cannot_be_paid(owner_client, customer, stripe_standin):
    draft = services.create_draft(customer=customer)
    assert owner_client.post(f"/invoices/{draft.pk}/pay/").status_code == 404
    assert stripe_standin.requests == []


def test_a_viewer_may_not_pay(client, viewer, invoice, stripe_standin):
    client.force_login(viewer)
    assert pay(client, invoice).status_code == 403
    page = client.get(f"/invoices/{invoice.number}/pay/").content.decode()
    assert "can see invoices but not pay them" in page
    assert stripe_standin.requests == []


def test_another_customers_invoice_cannot_be_paid(client, outsider, invoice, stripe_standin):
    client.force_login(outsider)
    assert pay(client, invoice).status_code == 404
    assert stripe_standin.requests == []


def test_without_stripe_pay_now_shows_bank_transfer_instead(owner_client, invoice, settings):
    settings.STRIPE_SECRET_KEY = ""
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/", **HTMX).content.decode()
    assert "Card payment is not set up for this portal; pay by bank transfer" in dialog
    assert settings.SELLER["iban"] in dialog
    assert "with Stripe" not in dialog
    response = pay(owner_client, invoice, follow=True)
    assert response.status_code == 200
    assert "Online payment is not available right now" in response.content.decode()
    assert CheckoutSession.objects.count() == 0


def test_when_stripe_is_down_the_customer_is_told_and_nothing_is_stored(
    owner_client, invoice, stripe_standin
):
    stripe_standin.fail_with = 500
    response = pay(owner_client, invoice, follow=True)
    assert response.status_code == 200
    assert "Online payment is not available right now" in response.content.decode()
    assert CheckoutSession.objects.count() == 0


def test_with_stripe_the_dialog_offers_card_and_bank(owner_client, invoice, stripe_standin):
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/", **HTMX).content.decode()
    assert "Pay €212.86 with Stripe" in dialog
    assert "Or pay by bank transfer" in dialog
    assert "Rundown of dues" in dialog


def test_several_invoices_in_one_checkout(owner_client, customer, make_invoice, stripe_standin):
    older = make_invoice("100.00", issue_date=datetime.date(2026, 8, 1))
    newer = make_invoice("50.50", issue_date=datetime.date(2026, 9, 1))
    make_invoice("75.00")  # not selected
    rundown = owner_client.get(f"/invoices/pay/?number={newer.number}&number={older.number}")
    assert "Pay €150.50 with Stripe" in rundown.content.decode()

    response = owner_client.post("/invoices/pay/", {"number": [newer.number, older.number]})
    assert response.status_code == 303
    (call,) = stripe_standin.calls("/v1/checkout/sessions")
    assert call.form["line_items[0][price_data][unit_amount]"] == "10000"
    assert call.form["line_items[1][price_data][unit_amount]"] == "5050"
    assert call.form["metadata[invoice_numbers]"] == f"{older.number},{newer.number}"
    assert call.form["success_url"] == "http://testserver/invoices/?checkout=success"
    checkout = CheckoutSession.objects.get()
    assert sorted(checkout.items.values_list("amount", flat=True)) == [
        Decimal("50.50"),
        Decimal("100.00"),
    ]


def test_several_invoices_refuses_a_foreign_number(owner_client, invoice, stripe_standin):
    foreign = issued_invoice(CustomerFactory(), [("x", "y", "1", "h", "5")])
    response = owner_client.post("/invoices/pay/", {"number": [invoice.number, foreign.number]})
    assert response.status_code == 404
    assert stripe_standin.requests == []


def test_several_invoices_refuses_when_one_is_paid(owner_client, make_invoice, stripe_standin):
    open_one, paid_one = make_invoice(), make_invoice()
    services.record_bank_payment(
        invoice=paid_one, amount=paid_one.total, received_at=datetime.datetime.now(datetime.UTC)
    )
    response = owner_client.post(
        "/invoices/pay/", {"number": [open_one.number, paid_one.number]}, follow=True
    )
    assert f"Nothing to pay on {paid_one.number} (paid)." in response.content.decode()
    assert stripe_standin.requests == []


def test_paying_nothing_is_explained(owner_client, stripe_standin):
    response = owner_client.post("/invoices/pay/", follow=True)
    assert "Select at least one unpaid invoice to pay." in response.content.decode()


def test_coming_back_from_a_cancelled_checkout_changes_nothing(
    owner_client, invoice, stripe_standin
):
    pay(owner_client, invoice)
    page = owner_client.get(f"/invoices/{invoice.number}/?checkout=cancelled").content.decode()
    assert "Payment cancelled. Nothing was charged." in page
    assert "Pay Now" in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("unpaid", Decimal("0.00"))


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_pay_accepts_only_get_and_post(owner_client, invoice, stripe_standin, method):
    if method == "get":
        assert owner_client.get(f"/invoices/{invoice.number}/pay/").status_code == 200
    else:
        response = getattr(owner_client, method)(f"/invoices/{invoice.number}/pay/")
        assert response.status_code == 405
