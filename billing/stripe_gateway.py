"""The only module that talks to Stripe: customers, Checkout Sessions, webhook signatures.

Amounts cross this edge as integer minor units (core/money.py); everything else in the
portal uses Decimal. STRIPE_API_BASE points the client at a Stripe-compatible server in tests.
"""

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

from core.money import to_minor_units


class StripeUnavailable(Exception):
    """Online payment is not configured, or Stripe could not be reached."""


class InvalidWebhook(Exception):
    """The webhook is not signed by Stripe with our secret, or not readable."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise StripeUnavailable("Online payment is not configured (STRIPE_SECRET_KEY is unset).")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def create_customer(*, name: str, email: str, reference: str) -> str:
    """A Stripe customer for one of ours; the idempotency key makes a retry return the same."""
    try:
        customer = _client().v1.customers.create(
            params={"name": name, "email": email, "metadata": {"portal_customer": reference}},
            options={"idempotency_key": f"customer-{reference}"},
        )
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe refused to create the customer: {exc}") from exc
    return customer.id


@dataclass(frozen=True)
class CheckoutLine:
    name: str
    amount: Decimal


@dataclass(frozen=True)
class CreatedCheckout:
    stripe_id: str
    url: str
    expires_at: datetime.datetime


def create_checkout_session(
    *,
    stripe_customer: str,
    lines: list[CheckoutLine],
    currency: str,
    reference: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    expires_at: datetime.datetime,
    idempotency_key: str,
) -> CreatedCheckout:
    """A hosted Checkout page for a one-off payment of `lines` (one per invoice)."""
    params = {
        "mode": "payment",
        "customer": stripe_customer,
        "client_reference_id": reference,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor_units(line.amount, currency),
                    "product_data": {"name": line.name},
                },
            }
            for line in lines
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    try:
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe could not start the payment: {exc}") from exc
    return CreatedCheckout(
        stripe_id=session.id,
        url=session.url,
        expires_at=datetime.datetime.fromtimestamp(session.expires_at, tz=datetime.UTC),
    )


def verify_webhook(payload: bytes, signature: str) -> dict:
    """The event, if `signature` (the Stripe-Signature header) proves Stripe sent `payload`
    with our webhook secret within the last five minutes. During a rotation the setting holds
    two secrets, comma-separated, and either one proves it."""
    secrets = [s.strip() for s in settings.STRIPE_WEBHOOK_SECRET.split(",") if s.strip()]
    if not secrets:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not configured.")
    try:
        text = payload.decode("utf-8")
        _verify_signature(text, signature, secrets)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"Bad signature: {exc.user_message or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise InvalidWebhook("The body is not a Stripe event.")
    return event


def _verify_signature(text: str, signature: str, secrets: list[str]) -> None:
    """Raises the last secret's SignatureVerificationError unless one of `secrets` verifies."""
    *others, last = secrets
    for secret in others:
        try:
            stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=300)
        except stripe.SignatureVerificationError:
            continue
        return
    stripe.WebhookSignature.verify_header(text, signature, last, tolerance=300)
