"""The only module that talks to Stripe: customers, Checkout Sessions (payment and setup),
saved payment methods, off-session charges, webhook signatures.

Amounts cross this edge as integer minor units (core/money.py); everything else in the
portal uses Decimal. STRIPE_API_BASE points the client at a Stripe-compatible server in tests.

The demo checkout: with DEBUG on and no STRIPE_SECRET_KEY, Checkout Sessions are opened on a
local page that looks like Stripe's (billing/demo_views.py), whose webhooks are signed with
DEMO_WEBHOOK_SECRET and verified here like Stripe's. With DEBUG off it does not exist.
"""

import datetime
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings
from django.urls import reverse

from core.money import to_minor_units


class StripeUnavailable(Exception):
    """Online payment is not configured, or Stripe could not be reached."""


class InvalidWebhook(Exception):
    """The webhook is not signed by Stripe with our secret, or not readable."""


# Public on purpose: it signs only the demo's own webhooks, and only DEBUG accepts it.
DEMO_WEBHOOK_SECRET = "whsec_demo_checkout_debug_only"


def is_demo() -> bool:
    """No Stripe keys, and DEBUG on: a newcomer's demo pays on the local demo checkout."""
    return settings.DEBUG and not settings.STRIPE_SECRET_KEY


def is_configured() -> bool:
    """Customers can pay online: on Stripe, or in the demo on its stand-in."""
    return bool(settings.STRIPE_SECRET_KEY) or is_demo()


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
    if is_demo():
        return f"cus_demo_{reference}"
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
    if is_demo():
        # The same request gets the same session, as Stripe's idempotency key gives it.
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        stripe_id = f"cs_demo_{digest}"
        return CreatedCheckout(
            stripe_id=stripe_id,
            url=reverse("demo_checkout", args=[stripe_id]),
            expires_at=expires_at,
        )
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
    return _open_session(params, idempotency_key, "Stripe could not start the payment")


def create_setup_session(
    *,
    stripe_customer: str,
    method_type: str,
    currency: str,
    reference: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CreatedCheckout:
    """A hosted Checkout page in setup mode: the customer saves a card (or signs a SEPA Direct
    Debit mandate) on Stripe's page, for later off-session charges; nothing is charged."""
    if is_demo():
        raise StripeUnavailable("Saving a payment method needs Stripe (STRIPE_SECRET_KEY).")
    params = {
        "mode": "setup",
        "customer": stripe_customer,
        "currency": currency.lower(),
        "payment_method_types": [method_type],
        "client_reference_id": reference,
        "metadata": {"portal_customer": reference},
        "setup_intent_data": {"metadata": {"portal_customer": reference}},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return _open_session(params, idempotency_key, "Stripe could not start saving the method")


def _open_session(params: dict, idempotency_key: str, refused: str) -> CreatedCheckout:
    try:
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"{refused}: {exc}") from exc
    return CreatedCheckout(
        stripe_id=session.id,
        url=session.url,
        expires_at=datetime.datetime.fromtimestamp(session.expires_at, tz=datetime.UTC),
    )


@dataclass(frozen=True)
class SavedMethod:
    """What the portal keeps of a payment method saved at Stripe (never the card number)."""

    stripe_id: str
    stripe_customer: str
    type: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


def setup_intent_method(setup_intent: str) -> SavedMethod:
    """The payment method a completed SetupIntent saved."""
    try:
        intent = _client().v1.setup_intents.retrieve(
            setup_intent, params={"expand": ["payment_method"]}
        )
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe could not say what was saved: {exc}") from exc
    method = intent.payment_method
    if isinstance(method, str):
        method = _client().v1.payment_methods.retrieve(method)
    details = method.card if method.type == "card" else method.sepa_debit
    return SavedMethod(
        stripe_id=method.id,
        stripe_customer=intent.customer or "",
        type=method.type,
        brand=(details.brand if method.type == "card" else details.bank_code) or "",
        last4=details.last4,
        exp_month=details.exp_month if method.type == "card" else None,
        exp_year=details.exp_year if method.type == "card" else None,
    )


def detach_payment_method(stripe_id: str) -> None:
    """Forget a saved method at Stripe: it can never be charged again. One that Stripe no
    longer knows (detached before) counts as detached."""
    if is_demo():
        return
    try:
        _client().v1.payment_methods.detach(stripe_id)
    except stripe.InvalidRequestError as exc:
        if exc.code != "resource_missing":
            raise StripeUnavailable(f"Stripe could not remove the method: {exc}") from exc
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe could not remove the method: {exc}") from exc


@dataclass(frozen=True)
class ChargeResult:
    """How Stripe answered an off-session charge: `status` is the PaymentIntent's
    ("succeeded", "processing") or "declined" / "requires_action" with Stripe's `code`."""

    payment_intent: str
    status: str
    code: str = ""


def charge_off_session(
    *,
    stripe_customer: str,
    payment_method: str,
    amount: Decimal,
    currency: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> ChargeResult:
    """Charge a saved method without the customer present. A decline is an answer, not an
    error; StripeUnavailable means Stripe could not be asked (try again later)."""
    if is_demo():
        raise StripeUnavailable("Automatic payments need Stripe (STRIPE_SECRET_KEY).")
    params = {
        "customer": stripe_customer,
        "payment_method": payment_method,
        "amount": to_minor_units(amount, currency),
        "currency": currency.lower(),
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
    }
    try:
        intent = _client().v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.CardError as exc:
        error = (exc.json_body or {}).get("error", {})
        intent_id = (error.get("payment_intent") or {}).get("id", "")
        code = error.get("decline_code") or exc.code or "card_declined"
        if exc.code == "authentication_required":
            return ChargeResult(intent_id, "requires_action", "authentication_required")
        return ChargeResult(intent_id, "declined", code)
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe could not take the payment: {exc}") from exc
    return ChargeResult(intent.id, intent.status)


def verify_webhook(payload: bytes, signature: str) -> dict:
    """The event, if `signature` (the Stripe-Signature header) proves Stripe sent `payload`
    with our webhook secret within the last five minutes. During a rotation the setting holds
    two secrets, comma-separated, and either one proves it."""
    accepted = [s.strip() for s in settings.STRIPE_WEBHOOK_SECRET.split(",") if s.strip()]
    if is_demo():
        accepted.append(DEMO_WEBHOOK_SECRET)
    if not accepted:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not configured.")
    try:
        text = payload.decode("utf-8")
        _verify_signature(text, signature, accepted)
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


def _verify_signature(text: str, signature: str, accepted: list[str]) -> None:
    """Raises the last secret's SignatureVerificationError unless one of `accepted` verifies."""
    *others, last = accepted
    for secret in others:
        try:
            stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=300)
        except stripe.SignatureVerificationError:
            continue
        return
    stripe.WebhookSignature.verify_header(text, signature, last, tolerance=300)


def demo_completed_event(*, stripe_id: str, amount: Decimal, currency: str) -> tuple[bytes, str]:
    """The demo checkout's webhook for a paid session, and its Stripe-Signature header, signed
    as Stripe signs them (HMAC-SHA256 of "timestamp.body") with DEMO_WEBHOOK_SECRET."""
    now = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_demo_{secrets.token_hex(12)}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": now,
            "data": {
                "object": {
                    "id": stripe_id,
                    "object": "checkout.session",
                    "amount_total": to_minor_units(amount, currency),
                    "currency": currency.lower(),
                    "payment_status": "paid",
                    "payment_intent": f"pi_demo_{secrets.token_hex(12)}",
                    "status": "complete",
                }
            },
        }
    )
    mac = hmac.new(DEMO_WEBHOOK_SECRET.encode(), f"{now}.{body}".encode(), hashlib.sha256)
    return body.encode(), f"t={now},v1={mac.hexdigest()}"
