"""The demo checkout: with DEBUG on and no Stripe keys, Pay Now opens a local stand-in for
Stripe's page whose signed webhook pays the invoice through the same handler as Stripe's. With
DEBUG off, or with Stripe keys, it does not exist and its secret proves nothing."""

import json

import pytest

from billing import stripe_gateway
from billing.models import CheckoutSession, Invoice, Payment, StripeEvent
from tests.billing.conftest import TOTAL
from tests.stripe_standin import checkout_event, signed

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def demo_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


def start(client, invoice):
    response = client.post(f"/invoices/{invoice.number}/pay/")
    assert response.status_code == 303
    return response["Location"]


def test_pay_now_opens_the_labelled_demo_checkout_and_paying_there_turns_the_invoice_paid(
    owner_client, invoice, demo_mode
):
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/", **HTMX).content.decode()
    assert "Pay €212.86 on the demo checkout" in dialog and "No card is charged" in dialog

    url = start(owner_client, invoice)
    checkout = CheckoutSession.objects.get()
    assert url == f"/invoices/demo-checkout/{checkout.stripe_id}/"
    page = owner_client.get(url).content.decode()
    assert "Demo checkout" in page and "No card is charged and no money moves" in page
    assert "€212.86" in page and invoice.number in page

    response = owner_client.post(url)
    assert response["Location"] == f"/invoices/{invoice.number}/?checkout=success"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    (payment,) = Payment.objects.all()
    assert (payment.amount, payment.method, payment.invoice) == (TOTAL, "card", invoice)
    (event,) = StripeEvent.objects.all()  # booked as Stripe's own webhook is
    assert event.payload["data"]["object"]["id"] == checkout.stripe_id


def test_paying_twice_on_the_demo_checkout_pays_once(owner_client, invoice, demo_mode):
    url = start(owner_client, invoice)
    owner_client.post(url)
    second = owner_client.post(url)
    assert second["Location"] == f"/invoices/{invoice.number}/?checkout=success"
    assert Payment.objects.count() == 1
    assert "no longer open" in owner_client.get(url).content.decode()


def test_another_customers_demo_checkout_does_not_exist(
    client, owner_client, outsider, invoice, demo_mode
):
    url = start(owner_client, invoice)
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Payment.objects.count() == 0


def test_a_viewer_cannot_pay_on_the_demo_checkout(client, viewer, owner_client, invoice, demo_mode):
    url = start(owner_client, invoice)
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("stripe_id", ["cs_demo_nope", "<script>", "x" * 300, "cs_test_1"])
def test_a_made_up_demo_checkout_is_not_found(owner_client, demo_mode, stripe_id):
    assert owner_client.post(f"/invoices/demo-checkout/{stripe_id}/").status_code == 404
    assert Payment.objects.count() == 0


def demo_signed_webhook(checkout):
    return stripe_gateway.demo_completed_event(
        stripe_id=checkout.stripe_id, amount=checkout.amount_total, currency=checkout.currency
    )


@pytest.mark.parametrize("keys", ["debug off", "stripe keys set"])
def test_without_the_demo_the_page_is_gone_and_its_secret_proves_nothing(
    client, owner_client, invoice, demo_mode, settings, keys
):
    url = start(owner_client, invoice)
    checkout = CheckoutSession.objects.get()
    if keys == "debug off":
        settings.DEBUG = False
    else:
        settings.STRIPE_SECRET_KEY = "sk_live_real"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_real"
    assert owner_client.get(url).status_code == 404
    assert owner_client.post(url).status_code == 404
    body, signature = demo_signed_webhook(checkout)
    response = client.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0 and Payment.objects.count() == 0


def test_with_debug_off_and_no_keys_pay_now_says_card_payment_is_not_set_up(
    owner_client, invoice, settings
):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/", **HTMX).content.decode()
    assert "Card payment is not set up for this portal; pay by bank transfer" in dialog
    assert "demo" not in dialog.lower()
    assert owner_client.post(f"/invoices/{invoice.number}/pay/").status_code == 302
    assert CheckoutSession.objects.count() == 0


def test_stripes_own_webhooks_still_need_stripes_secret_in_the_demo(client, invoice, demo_mode):
    body, signature = signed(
        json.dumps(
            checkout_event("evt_1", "checkout.session.completed", session_id="cs_x", amount_total=1)
        ),
        secret="whsec_guessed",
    )
    response = client.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
