"""Payment workflows (services, like billing/services.py): starting Stripe Checkout for unpaid
invoices, and acting on Stripe's webhook events.

Only a verified webhook moves money in our books. Every event is stored by its id before it is
acted on, in the same transaction, with the invoices locked: a redelivered event, ten copies at
once, or two events about the same payment record it once. Handlers read state, not arrival
order, so events that come late or out of order end in the same place.
"""

import datetime
import hashlib

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Customer
from accounts.selectors import billing_emails
from billing import emails
from billing import stripe_gateway as gateway
from billing.models import (
    CheckoutItem,
    CheckoutSession,
    CustomerCredit,
    Invoice,
    InvoiceEvent,
    Payment,
    StripeEvent,
)
from billing.money import ZERO
from billing.services import BillingError, apply_payment, record_event, utc_today

MAX_INVOICES_PER_CHECKOUT = 20
CHECKOUT_LIFETIME = datetime.timedelta(hours=1)


class PaymentRefused(BillingError):
    """Nothing to pay, or not payable online: the message says why."""


def _money(amount, currency: str) -> str:
    return f"{amount} {currency}"


# ---- Starting a payment ----


@transaction.atomic
def start_checkout(
    *,
    customer: Customer,
    invoices: list[Invoice],
    user,
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    """A Stripe Checkout Session for the outstanding amounts of `invoices`.

    While an earlier session for exactly these invoices and amounts is still open, it is
    returned instead of opening another.
    """
    if not gateway.is_configured():
        raise gateway.StripeUnavailable("Online payment is not available.")
    if not invoices:
        raise PaymentRefused("Select at least one unpaid invoice to pay.")
    if len(invoices) > MAX_INVOICES_PER_CHECKOUT:
        raise PaymentRefused(f"Pay at most {MAX_INVOICES_PER_CHECKOUT} invoices at once.")
    # Two clicks on Pay Now at once must not open two sessions: the invoices stay locked
    # until this session is stored.
    locked = list(
        Invoice.objects.select_for_update()
        .filter(customer=customer, pk__in=[invoice.pk for invoice in invoices])
        .order_by("issue_date", "pk")
    )
    settled = [invoice for invoice in locked if not invoice.is_open or invoice.outstanding <= 0]
    if settled:
        names = ", ".join(f"{i} ({i.get_status_display().lower()})" for i in settled)
        raise PaymentRefused(f"Nothing to pay on {names}.")
    amounts = {invoice.pk: invoice.outstanding for invoice in locked}
    now = timezone.now()

    reusable = _open_checkout_for(customer, amounts, now=now)
    if reusable:
        return reusable

    if not customer.stripe_customer_id:
        emails = billing_emails(customer)
        customer.stripe_customer_id = gateway.create_customer(
            name=customer.name, email=emails[0] if emails else user.email, reference=customer.number
        )
        Customer.objects.filter(pk=customer.pk).update(
            stripe_customer_id=customer.stripe_customer_id
        )

    numbers = [invoice.number for invoice in locked]
    basis = numbers[0] if len(numbers) == 1 else _batch_key(numbers)
    attempt = CheckoutSession.objects.filter(
        idempotency_key__startswith=f"checkout-{basis}-"
    ).count()
    idempotency_key = f"checkout-{basis}-{attempt + 1}"
    currency = locked[0].currency
    total = sum(amounts.values(), ZERO)
    created = gateway.create_checkout_session(
        stripe_customer=customer.stripe_customer_id,
        lines=[
            gateway.CheckoutLine(name=f"Invoice {invoice.number}", amount=amounts[invoice.pk])
            for invoice in locked
        ],
        currency=currency,
        reference=",".join(numbers)[:200],
        metadata={"invoice_numbers": ",".join(numbers), "portal_customer": customer.number},
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=now + CHECKOUT_LIFETIME,
        idempotency_key=idempotency_key,
    )
    checkout = CheckoutSession.objects.create(
        customer=customer,
        stripe_id=created.stripe_id,
        url=created.url,
        amount_total=total,
        currency=currency,
        attempt=attempt,
        idempotency_key=idempotency_key,
        started_by=user,
        expires_at=created.expires_at,
    )
    CheckoutItem.objects.bulk_create(
        CheckoutItem(checkout=checkout, invoice=invoice, amount=amounts[invoice.pk])
        for invoice in locked
    )
    for invoice in locked:
        record_event(
            invoice,
            InvoiceEvent.Kind.CHECKOUT_STARTED,
            f"Online payment of {_money(amounts[invoice.pk], currency)} started.",
            user,
        )
    return checkout


def _batch_key(numbers: list[str]) -> str:
    return "batch-" + hashlib.sha256(",".join(numbers).encode()).hexdigest()[:24]


def _open_checkout_for(customer, amounts: dict[int, object], *, now) -> CheckoutSession | None:
    candidates = (
        CheckoutSession.objects.filter(
            customer=customer, status=CheckoutSession.Status.OPEN, items__invoice__in=amounts
        )
        .distinct()
        .prefetch_related("items")
    )
    for checkout in candidates:
        same = {item.invoice_id: item.amount for item in checkout.items.all()} == amounts
        if same and checkout.is_reusable(now=now):
            return checkout
    return None


def payment_in_progress(invoice: Invoice, *, returned_from_checkout: bool = False) -> bool:
    """A Checkout for this invoice was completed (or the customer just came back from paying)
    and the webhook that confirms the money has not been processed yet."""
    if not invoice.is_open:
        return False
    statuses = [CheckoutSession.Status.PROCESSING]
    if returned_from_checkout:
        statuses.append(CheckoutSession.Status.OPEN)
    return invoice.checkouts.filter(status__in=statuses).exists()


# ---- Webhook events ----


def handle_stripe_event(event: dict) -> str:
    """Act on one verified Stripe event, once. Returns what happened, for the response."""
    handler = _HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    obj = event["data"].get("object") or {}
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            stripe_id=event["id"],
            defaults={
                "type": event["type"],
                "payload": event,
                "payment_intent": obj.get("payment_intent") or "",
            },
        )
        if not created:
            return "duplicate"
        outcome = handler(stored, obj)
        stored.processed_at = timezone.now()
        stored.outcome = outcome
        stored.save(update_fields=["processed_at", "outcome", "needs_attention"])
    return outcome


def _needs_attention(event: StripeEvent, why: str) -> str:
    event.needs_attention = True
    return why


def _about_checkout(handler):
    """Handlers of checkout.session.* events get our Checkout Session, locked. A session we
    did not open is flagged for staff rather than acted on."""

    def handle(event: StripeEvent, session: dict) -> str:
        checkout = (
            CheckoutSession.objects.select_for_update()
            .filter(stripe_id=session.get("id", ""))
            .select_related("customer")
            .first()
        )
        if checkout is None:
            return _needs_attention(event, f"Unknown Checkout Session {session.get('id')}.")
        return handler(event, checkout, session)

    return handle


def _on_checkout_completed(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if session.get("payment_status") == "paid":
        return _settle(event, checkout, session)
    # Delayed methods (SEPA debit, bank redirects) complete now and pay days later.
    if checkout.status != CheckoutSession.Status.OPEN:
        return f"checkout already {checkout.status}"
    checkout.status = CheckoutSession.Status.PROCESSING
    checkout.save(update_fields=["status"])
    for invoice in checkout.invoices.all():
        record_event(
            invoice,
            InvoiceEvent.Kind.PAYMENT_PROCESSING,
            "Payment submitted; the bank confirms it within a few days.",
        )
    return "processing"


def _on_async_payment_failed(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if checkout.status not in {CheckoutSession.Status.OPEN, CheckoutSession.Status.PROCESSING}:
        return f"checkout already {checkout.status}"
    checkout.status = CheckoutSession.Status.FAILED
    checkout.save(update_fields=["status"])
    for invoice in checkout.invoices.all():
        record_event(invoice, InvoiceEvent.Kind.PAYMENT_FAILED, "The bank declined the payment.")
    return "failed"


def _on_checkout_expired(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    if checkout.status != CheckoutSession.Status.OPEN:
        return "nothing to expire"
    checkout.status = CheckoutSession.Status.EXPIRED
    checkout.save(update_fields=["status"])
    return "expired"


def _settle(event: StripeEvent, checkout: CheckoutSession, session: dict) -> str:
    """Record the money of a paid Checkout on its invoices, once."""
    if checkout.status in {CheckoutSession.Status.PAID, CheckoutSession.Status.NEEDS_REVIEW}:
        return f"checkout already {checkout.status}"
    currency = str(session.get("currency", "")).upper()
    received = gateway.from_minor_units(int(session.get("amount_total") or 0), currency)
    if currency != checkout.currency or received != checkout.amount_total:
        message = (
            f"Stripe reports {_money(received, currency)} for a payment of "
            f"{_money(checkout.amount_total, checkout.currency)}: not applied, for staff to review."
        )
        checkout.status = CheckoutSession.Status.NEEDS_REVIEW
        checkout.save(update_fields=["status"])
        for invoice in checkout.invoices.all():
            record_event(invoice, InvoiceEvent.Kind.PAYMENT_MISMATCH, message)
        return _needs_attention(event, message)

    now = timezone.now()
    payment_intent = session.get("payment_intent") or ""
    items = list(checkout.items.all())
    invoices = (
        Invoice.objects.select_for_update()
        .order_by("pk")
        .in_bulk([item.invoice_id for item in items])
    )
    excess = ZERO
    for item in items:
        invoice = invoices[item.invoice_id]
        # A bank transfer or credit note may have settled part of it since the checkout began.
        applied = min(item.amount, invoice.outstanding)
        excess += item.amount - applied
        if applied > 0:
            apply_payment(
                invoice=invoice,
                amount=applied,
                method=Payment.Method.CARD,
                received_at=now,
                message=f"Card payment of {_money(applied, currency)} received through Stripe.",
                checkout=checkout,
                stripe_payment_intent=payment_intent,
                stripe_event=event,
            )
    if excess > 0:
        CustomerCredit.objects.create(
            customer=checkout.customer,
            amount=excess,
            currency=currency,
            reason=f"Overpayment in Stripe payment {payment_intent or checkout.stripe_id}.",
            checkout=checkout,
        )
    checkout.status = CheckoutSession.Status.PAID
    checkout.settled_at = now
    checkout.save(update_fields=["status", "settled_at"])
    _apply_deferred_refunds(payment_intent)
    transaction.on_commit(lambda: _send_receipt_later(checkout.pk))
    return "paid" if not excess else f"paid; {_money(excess, currency)} kept as customer credit"


def _send_receipt_later(checkout_id: int) -> None:
    from billing.tasks import send_payment_receipt  # tasks import this module

    send_payment_receipt.delay(checkout_id)


def _on_charge_refunded(event: StripeEvent, charge: dict) -> str:
    payment_intent = charge.get("payment_intent") or ""
    currency = str(charge.get("currency", "")).upper()
    refunded = gateway.from_minor_units(int(charge.get("amount_refunded") or 0), currency)
    return _apply_refunds(event, payment_intent, refunded)


def _apply_refunds(event: StripeEvent, payment_intent: str, refunded_total) -> str:
    """Bring our refunds for a payment up to Stripe's cumulative refunded amount.

    The charge carries the running total, so repeated or reordered refund events converge.
    A refund that arrives before its payment waits ("deferred") until the payment is recorded.
    """
    payments = list(
        Payment.objects.select_for_update()
        .filter(stripe_payment_intent=payment_intent, kind=Payment.Kind.PAYMENT)
        .select_related("invoice")
        .order_by("-invoice__issue_date", "-pk")
    )
    if not payment_intent or not payments:
        return "deferred: the payment is not recorded yet"
    refunds = Payment.objects.filter(stripe_payment_intent=payment_intent, kind=Payment.Kind.REFUND)
    to_refund = refunded_total - (refunds.aggregate(s=Sum("amount"))["s"] or ZERO)
    if to_refund <= 0:
        return "no new refund"
    now, today = timezone.now(), utc_today()
    for payment in payments:
        refunded_here = refunds.filter(invoice=payment.invoice).aggregate(s=Sum("amount"))["s"]
        amount = min(to_refund, payment.amount - (refunded_here or ZERO))
        if amount <= 0:
            continue
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        Payment.objects.create(
            invoice=invoice,
            kind=Payment.Kind.REFUND,
            amount=amount,
            currency=payment.currency,
            method=payment.method,
            checkout=payment.checkout,
            stripe_payment_intent=payment_intent,
            stripe_event=event,
            received_at=now,
        )
        Invoice.objects.filter(pk=invoice.pk).update(amount_paid=F("amount_paid") - amount)
        invoice.refresh_from_db()
        record_event(
            invoice,
            InvoiceEvent.Kind.REFUNDED,
            f"Refund of {_money(amount, invoice.currency)} to the card through Stripe.",
            at=now,
        )
        if invoice.reopen_if_owed(today=today):
            invoice.save(update_fields=["status", "paid_at"])
        to_refund -= amount
        if to_refund <= 0:
            break
    if to_refund > 0:
        return _needs_attention(
            event, f"{to_refund} more was refunded than was paid on invoices: check the credit."
        )
    return "refunded"


def _apply_deferred_refunds(payment_intent: str) -> None:
    if not payment_intent:
        return
    waiting = StripeEvent.objects.filter(
        payment_intent=payment_intent, type="charge.refunded", outcome__startswith="deferred"
    )
    for event in waiting:
        charge = event.payload["data"]["object"]
        event.outcome = _on_charge_refunded(event, charge)
        event.save(update_fields=["outcome", "needs_attention"])


_HANDLERS = {
    "checkout.session.completed": _about_checkout(_on_checkout_completed),
    "checkout.session.async_payment_succeeded": _about_checkout(_settle),
    "checkout.session.async_payment_failed": _about_checkout(_on_async_payment_failed),
    "checkout.session.expired": _about_checkout(_on_checkout_expired),
    "charge.refunded": _on_charge_refunded,
}


def email_payment_receipt(*, checkout: CheckoutSession) -> list[str]:
    """Thank the Billing contacts for a card payment, once (claimed through receipt_sent_at)."""
    recipients = billing_emails(checkout.customer)
    with transaction.atomic():
        claimed = CheckoutSession.objects.filter(
            pk=checkout.pk, status=CheckoutSession.Status.PAID, receipt_sent_at=None
        ).update(receipt_sent_at=timezone.now())
        if not claimed or not recipients:
            return []
        payments = list(
            checkout.payments.filter(kind=Payment.Kind.PAYMENT).select_related("invoice")
        )
        emails.payment_receipt(checkout, payments, recipients).send()
    return recipients
