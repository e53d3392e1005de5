"""Stripe events to our books: store each verified event once, then act on it.

Every event is stored by its id before it is acted on, in the same transaction: a redelivery,
ten copies at once, or two events about the same payment record it once. Events about one
payment intent are serialized (a PostgreSQL advisory lock; SQLite runs one writer at a time),
so a refund can never read the books while its payment is still being recorded. Handlers read
state, not arrival order: events that come late or out of order end in the same place.
"""

import datetime
import zlib

from django.db import connection, transaction
from django.utils import timezone

from billing import autopay, jobs, ledger, selectors
from billing import stripe_gateway as gateway
from billing.models import (
    BillingProfile,
    ChargeAttempt,
    CheckoutSession,
    InvoiceEvent,
    Payment,
    StripeEvent,
)
from core.money import ZERO, format_money, from_minor_units

STRIPE_INTENT_LOCKS = 0x57E1  # the advisory lock namespace of payment intents


def handle_stripe_event(event: dict) -> str:
    """Act on one verified Stripe event, once. Returns what happened, for the response."""
    handler = _HANDLERS.get(event["type"])
    obj = event["data"]["object"]
    if event["type"] == "checkout.session.completed" and obj.get("mode") == "setup":
        return _on_setup_completed(event, obj)
    if handler is None:
        return "ignored"
    payment_intent = obj.get("payment_intent") or ""
    if obj.get("object") == "payment_intent":
        payment_intent = obj.get("id") or ""
    with transaction.atomic():
        _serialize(payment_intent)
        stored, created = StripeEvent.objects.get_or_create(
            stripe_id=event["id"],
            defaults={"type": event["type"], "payload": event, "payment_intent": payment_intent},
        )
        if not created:
            return "duplicate"
        stored.outcome = handler(stored, obj)
        stored.processed_at = timezone.now()
        stored.save(update_fields=["processed_at", "outcome", "needs_attention", "deferred"])
    return stored.outcome


def _serialize(payment_intent: str) -> None:
    """Wait for any other transaction handling an event about this payment intent."""
    if payment_intent and connection.vendor == "postgresql":
        # Two int4 keys: one for "a Stripe payment intent", one from the intent's id.
        key = zlib.crc32(payment_intent.encode()) - 2**31
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [STRIPE_INTENT_LOCKS, key])


def _occurred_at(event: StripeEvent) -> datetime.datetime:
    """When Stripe says it happened (a retried delivery may come hours later)."""
    created = event.payload.get("created")
    if isinstance(created, int):
        return datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    return event.received_at


def _needs_attention(event: StripeEvent, why: str) -> str:
    event.needs_attention = True
    return why


def _about_checkout(handler):
    """Handlers of checkout.session.* events get our Checkout Session, locked. A session we
    did not open is flagged for staff rather than acted on."""

    def handle(event: StripeEvent, session: dict) -> str:
        checkout = (
            CheckoutSession.objects.select_for_update(of=("self",))
            .filter(stripe_id=session.get("id", ""))
            .select_related("customer")
            .first()
        )
        if checkout is None:
            return _needs_attention(event, f"Unknown Checkout Session {session.get('id')}.")
        return handler(event, checkout, session)

    return handle


def _record_on_invoices(checkout: CheckoutSession, kind: str, **params) -> None:
    for invoice in checkout.invoices.all():
        InvoiceEvent.record(invoice, kind, **params)


def _on_checkout_completed(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if session.get("payment_status") == "paid":
        return _settle(event, checkout, session)
    # Delayed methods (SEPA debit, bank redirects) complete now and pay days later.
    if checkout.status != CheckoutSession.Status.OPEN:
        return f"checkout already {checkout.status}"
    checkout.status = CheckoutSession.Status.PROCESSING
    checkout.save(update_fields=["status"])
    _record_on_invoices(checkout, InvoiceEvent.Kind.PAYMENT_PROCESSING)
    return "processing"


def _on_async_payment_failed(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if checkout.status not in {CheckoutSession.Status.OPEN, CheckoutSession.Status.PROCESSING}:
        return f"checkout already {checkout.status}"
    checkout.status = CheckoutSession.Status.FAILED
    checkout.save(update_fields=["status"])
    _record_on_invoices(checkout, InvoiceEvent.Kind.PAYMENT_FAILED)
    return "failed"


def _on_checkout_expired(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if checkout.status != CheckoutSession.Status.OPEN:
        return "nothing to expire"
    checkout.status = CheckoutSession.Status.EXPIRED
    checkout.save(update_fields=["status"])
    return "expired"


def _settle(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    """Record the money of a paid Checkout on its invoices, once; any money beyond what they
    still owe (a bank transfer or credit note got there first) becomes customer credit."""
    if checkout.status in {CheckoutSession.Status.PAID, CheckoutSession.Status.NEEDS_REVIEW}:
        return f"checkout already {checkout.status}"
    currency = str(session.get("currency", "")).upper()
    received = from_minor_units(int(session.get("amount_total") or 0), currency)
    if currency != checkout.currency or received != checkout.amount_total:
        message = (
            f"Stripe reports {format_money(received, currency)} for a payment of "
            f"{format_money(checkout.amount_total, checkout.currency)}: received, not applied "
            "to the invoices until staff have checked it."
        )
        checkout.status = CheckoutSession.Status.NEEDS_REVIEW
        checkout.save(update_fields=["status"])
        _record_on_invoices(
            checkout,
            InvoiceEvent.Kind.PAYMENT_MISMATCH,
            received=str(received),
            received_currency=currency,
            expected=str(checkout.amount_total),
            currency=checkout.currency,
        )
        return _needs_attention(event, message)

    received_at = _occurred_at(event)
    payment_intent = session.get("payment_intent") or ""
    customer = ledger.lock_customer(checkout.customer_id)
    items = list(checkout.items.all())
    invoices = ledger.lock_invoices(item.invoice_id for item in items)
    excess = ZERO
    for item in items:
        invoice = invoices[item.invoice_id]
        applied = min(item.amount, invoice.outstanding)
        excess += item.amount - applied
        if applied > 0:
            ledger.apply_payment(
                invoice=invoice,
                amount=applied,
                method=Payment.Method.CARD,
                received_at=received_at,
                checkout=checkout,
                stripe_payment_intent=payment_intent,
                stripe_event=event,
            )
    if excess > 0:
        ledger.add_overpayment(
            customer=checkout.customer,
            amount=excess,
            currency=currency,
            note=f"Paid in Stripe payment {payment_intent or checkout.stripe_id} beyond what "
            "its invoices still owed.",
            checkout=checkout,
            payment_intent=payment_intent,
            stripe_event=event,
            created_at=received_at,
        )
    checkout.status = CheckoutSession.Status.PAID
    checkout.settled_at = received_at
    # Decided once, now: neither a retry nor the sweep sends a receipt the customer turned off.
    checkout.receipt_wanted = customer.billing_profile.send_payment_receipts
    checkout.save(update_fields=["status", "settled_at", "receipt_wanted"])
    _apply_deferred_refunds(payment_intent)
    if checkout.receipt_wanted:
        jobs.after_commit(jobs.SEND_PAYMENT_RECEIPT, checkout.pk)
    if excess:
        return f"paid; {format_money(excess, currency)} kept as customer credit"
    return "paid"


def _on_charge_refunded(event: StripeEvent, charge: dict) -> str:
    """Bring our refunds of a payment up to Stripe's cumulative refunded amount: first from the
    credit that payment created, then from its invoices (newest first), which are owed again.

    The charge carries the running total, so repeated or reordered refund events converge. A
    refund that arrives before its payment waits (`deferred`) until the payment is recorded.
    """
    payment_intent = charge.get("payment_intent") or ""
    currency = str(charge.get("currency", "")).upper()
    refunded_total = from_minor_units(int(charge.get("amount_refunded") or 0), currency)
    payments = list(
        Payment.objects.filter(stripe_payment_intent=payment_intent, kind=Payment.Kind.PAYMENT)
        if payment_intent
        else []
    )
    event.deferred = not payments
    if not payments:
        return "deferred: the payment is not recorded yet"
    if currency != payments[0].currency:
        return _needs_attention(
            event,
            f"A refund in {currency} of a payment in {payments[0].currency}: not applied, "
            "for staff to review.",
        )
    to_book = refunded_total - ledger.refunded_through_stripe(payment_intent)
    if to_book <= 0:
        return "no new refund"
    at = _occurred_at(event)
    customer = ledger.lock_customer(payments[0].invoice.customer_id)
    invoices = ledger.lock_invoices(payment.invoice_id for payment in payments)

    from_credit = min(
        to_book,
        ledger.credit_from_payment(customer, payment_intent),
        selectors.credit_balance(customer, currency),
    )
    if from_credit > 0:
        ledger.refund_credit(
            customer=customer,
            amount=from_credit,
            currency=currency,
            note=f"Refunded to the card through Stripe ({payment_intent}).",
            at=at,
            payment_intent=payment_intent,
            stripe_event=event,
        )
        to_book -= from_credit
    newest_first = sorted(payments, key=lambda p: (invoices[p.invoice_id].issue_date, p.pk))
    for payment in reversed(newest_first):
        amount = min(to_book, ledger.unreversed(payment))
        if amount <= 0:
            continue
        ledger.refund_payment(
            payment=payment,
            invoice=invoices[payment.invoice_id],
            amount=amount,
            at=at,
            stripe_event=event,
        )
        to_book -= amount
    if to_book > 0:
        return _needs_attention(
            event, f"{format_money(to_book, currency)} more was refunded than we recorded as paid."
        )
    return "refunded"


def _apply_deferred_refunds(payment_intent: str) -> None:
    """Refunds of this payment that arrived before it: book them now (same transaction)."""
    if not payment_intent:
        return
    for event in StripeEvent.objects.filter(payment_intent=payment_intent, deferred=True):
        event.outcome = _on_charge_refunded(event, event.payload["data"]["object"])
        event.save(update_fields=["outcome", "needs_attention", "deferred"])


def retry_deferred_refunds() -> int:
    """The periodic sweep: book any deferred refund whose payment has been recorded since.
    Returns how many payment intents it looked at."""
    intents = set(
        StripeEvent.objects.filter(deferred=True).values_list("payment_intent", flat=True)
    )
    for payment_intent in intents:
        with transaction.atomic():
            _serialize(payment_intent)
            _apply_deferred_refunds(payment_intent)
    return len(intents)


# ---- Saved payment methods and automatic payments (billing/autopay.py) ----


def _on_setup_completed(event: dict, session: dict) -> str:
    """A method saved on Stripe's setup page. Stripe is asked which one before the event is
    stored (no network call inside the transaction); a redelivery asks again and stores
    nothing new."""
    if StripeEvent.objects.filter(stripe_id=event["id"]).exists():
        return "duplicate"
    saved = gateway.setup_intent_method(session.get("setup_intent") or "")
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            stripe_id=event["id"], defaults={"type": event["type"], "payload": event}
        )
        if not created:
            return "duplicate"
        profile = (
            BillingProfile.objects.select_related("customer")
            .filter(stripe_customer_id=saved.stripe_customer)
            .exclude(stripe_customer_id="")
            .first()
        )
        reference = (session.get("metadata") or {}).get("portal_customer")
        if profile is None or profile.customer.number != reference:
            stored.outcome = _needs_attention(
                stored, f"A method saved for an unknown Stripe customer {saved.stripe_customer}."
            )
        else:
            method = autopay.save_method(customer=profile.customer, saved=saved)
            stored.outcome = f"saved {method.label}"
        stored.processed_at = timezone.now()
        stored.save(update_fields=["processed_at", "outcome", "needs_attention"])
    return stored.outcome


def _about_attempt(handler):
    """Handlers of payment_intent.* events get the automatic payment they are about, with its
    invoice locked first (the one lock order). Checkout's own payment intents are not ours
    to act on here: their checkout.session events are."""

    def handle(event: StripeEvent, intent: dict) -> str:
        attempt = ChargeAttempt.objects.filter(pk=autopay.attempt_id_of(intent)).first()
        if attempt is None:
            return "not an automatic payment"
        invoice = ledger.lock_invoice(attempt.invoice)
        attempt = ChargeAttempt.objects.select_for_update(of=("self",)).get(pk=attempt.pk)
        attempt.invoice = invoice
        return handler(event, attempt, intent)

    return handle


def _on_intent_succeeded(event: StripeEvent, attempt: ChargeAttempt, intent: dict) -> str:
    """Book an automatic payment on its invoice, once; money beyond what it still owes (a
    bank transfer got there first) becomes the customer's credit."""
    if attempt.status == ChargeAttempt.Status.SUCCEEDED:
        return "already paid"
    invoice = attempt.invoice
    currency = str(intent.get("currency", "")).upper()
    received = from_minor_units(int(intent.get("amount_received") or 0), currency)
    if currency != invoice.currency or received <= 0:
        return _needs_attention(
            event,
            f"Stripe reports {received} {currency} for {invoice} in {invoice.currency}: "
            "not applied until staff have checked it.",
        )
    at = _occurred_at(event)
    payment_intent = intent.get("id") or ""
    applied = min(received, invoice.outstanding)
    if applied > 0:
        ledger.apply_payment(
            invoice=invoice,
            amount=applied,
            method=Payment.Method.CARD,
            received_at=at,
            stripe_payment_intent=payment_intent,
            stripe_event=event,
        )
    if received > applied:
        ledger.add_overpayment(
            customer=invoice.customer,
            amount=received - applied,
            currency=currency,
            note=f"Paid automatically in Stripe payment {payment_intent} beyond what "
            f"{invoice.number} still owed.",
            payment_intent=payment_intent,
            stripe_event=event,
            created_at=at,
        )
    attempt.status = ChargeAttempt.Status.SUCCEEDED
    attempt.stripe_payment_intent = payment_intent
    attempt.save(update_fields=["status", "stripe_payment_intent"])
    _apply_deferred_refunds(payment_intent)
    return "paid"


def _on_intent_failed(event: StripeEvent, attempt: ChargeAttempt, intent: dict) -> str:
    error = intent.get("last_payment_error") or {}
    code = error.get("decline_code") or error.get("code") or "card_declined"
    return autopay.attempt_failed(attempt, code=code)


_HANDLERS = {
    "payment_intent.succeeded": _about_attempt(_on_intent_succeeded),
    "payment_intent.payment_failed": _about_attempt(_on_intent_failed),
    "checkout.session.completed": _about_checkout(_on_checkout_completed),
    "checkout.session.async_payment_succeeded": _about_checkout(_settle),
    "checkout.session.async_payment_failed": _about_checkout(_on_async_payment_failed),
    "checkout.session.expired": _about_checkout(_on_checkout_expired),
    "charge.refunded": _on_charge_refunded,
}
