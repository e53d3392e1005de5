"""Rotating the webhook secret: while STRIPE_WEBHOOK_SECRET holds the new and the old secret,
an event signed with either is accepted; one signed with neither is refused and changes nothing.
(A malformed list never gets this far: tests/portal/test_settings.py.)"""

import pytest

from billing.models import CheckoutSession, Invoice, Payment, StripeEvent
from billing.stripe_gateway import InvalidWebhook, verify_webhook
from tests.billing.conftest import TOTAL
from tests.stripe_standin import WEBHOOK_SECRET, checkout_event, signed

OLD, NEW, STRANGER = "whsec_old_secret", "whsec_new_secret", "whsec_someone_elses"
EVENT = {"id": "evt_rotation", "type": "ping", "data": {"object": {"id": "obj_1"}}}


def verify(secret: str) -> dict:
    body, signature = signed(EVENT, secret=secret)
    return verify_webhook(body.encode(), signature)


@pytest.mark.parametrize("configured", [f"{NEW},{OLD}", f"{OLD},{NEW}"])
@pytest.mark.parametrize("signing", [OLD, NEW])
def test_during_a_rotation_either_secret_verifies(settings, configured, signing):
    settings.STRIPE_WEBHOOK_SECRET = configured
    assert verify(signing) == EVENT


def test_during_a_rotation_an_event_signed_with_neither_is_refused(settings):
    settings.STRIPE_WEBHOOK_SECRET = f"{NEW},{OLD}"
    with pytest.raises(InvalidWebhook, match="Bad signature"):
        verify(STRANGER)


def test_after_the_rotation_the_old_secret_no_longer_verifies(settings):
    settings.STRIPE_WEBHOOK_SECRET = NEW
    assert verify(NEW) == EVENT
    with pytest.raises(InvalidWebhook, match="Bad signature"):
        verify(OLD)


def test_a_tampered_body_fails_with_both_secrets(settings):
    settings.STRIPE_WEBHOOK_SECRET = f"{NEW},{OLD}"
    body, signature = signed(EVENT, secret=OLD)
    tampered = body.replace("obj_1", "obj_2")
    with pytest.raises(InvalidWebhook, match="Bad signature"):
        verify_webhook(tampered.encode(), signature)


# ---- Through the endpoint: the payment is recorded once, or not at all ----


@pytest.fixture
def checkout(owner_client, invoice, billing_contact, stripe_standin):
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    return CheckoutSession.objects.get()


def deliver(client, checkout, *, secret):
    event = checkout_event(
        "evt_rotation",
        "checkout.session.completed",
        session_id=checkout.stripe_id,
        amount_total=21286,  # TOTAL in cents
    )
    body, signature = signed(event, secret=secret)
    return client.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def test_the_endpoint_takes_a_payment_signed_with_the_old_secret_mid_rotation(
    client, settings, checkout, invoice
):
    settings.STRIPE_WEBHOOK_SECRET = f"{NEW},{WEBHOOK_SECRET}"
    assert deliver(client, checkout, secret=WEBHOOK_SECRET).json()["outcome"] == "paid"
    assert deliver(client, checkout, secret=NEW).json()["outcome"] == "duplicate"
    assert Payment.objects.get().amount == TOTAL
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_the_endpoint_refuses_a_payment_signed_with_neither_secret(
    client, settings, checkout, invoice
):
    settings.STRIPE_WEBHOOK_SECRET = f"{NEW},{OLD}"
    assert deliver(client, checkout, secret=WEBHOOK_SECRET).status_code == 400
    assert not Payment.objects.exists()
    assert not StripeEvent.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == 0
