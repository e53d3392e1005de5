"""Customer-scoped reads of payments: money movements, receipts, Checkout sessions, saved
methods, and where an invoice's online payment stands. Every query here starts from a customer
or one of its invoices."""

from dataclasses import dataclass
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import pgettext

from accounts.models import Customer
from billing.models import ChargeAttempt, CheckoutSession, Invoice, Payment, PaymentMethod
from core.money import ZERO


@dataclass(frozen=True)
class MoneyMovement:
    """One payment or refund as the customer knows it: a card payment covers every invoice of
    its Checkout; a bank transfer or a refund is one row. `receipt` is the Payment whose
    receipt PDF shows it (payments only)."""

    received_at: object
    kind: str  # Payment.Kind.PAYMENT or REFUND
    method: str
    method_label: str
    amount: Decimal
    currency: str
    invoices: list[tuple[str, Decimal]]  # (number, amount on it)
    receipt: int | None


def _method_label(method: str) -> str:
    if method == Payment.Method.CARD:
        return pgettext("how money moved", "Card")
    return pgettext("how money moved", "Bank transfer")


def payments_for(customer: Customer) -> list[MoneyMovement]:
    """Every payment and refund on the customer's invoices, newest first (moves of paid money
    to the customer's credit are bookkeeping, not money movements: left out)."""
    rows = (
        Payment.objects.filter(
            invoice__customer=customer, kind__in=[Payment.Kind.PAYMENT, Payment.Kind.REFUND]
        )
        .select_related("invoice")
        .order_by("-received_at", "-pk")
    )
    groups: dict[tuple, list[Payment]] = {}
    for payment in rows:
        together = payment.kind == Payment.Kind.PAYMENT and payment.checkout_id
        key = ("checkout", payment.checkout_id) if together else ("payment", payment.pk)
        groups.setdefault(key, []).append(payment)
    return [
        MoneyMovement(
            received_at=group[0].received_at,
            kind=group[0].kind,
            method=group[0].method,
            method_label=_method_label(group[0].method),
            amount=sum((p.amount for p in group), ZERO),
            currency=group[0].currency,
            invoices=[(p.invoice.number, p.amount) for p in sorted(group, key=lambda p: p.pk)],
            receipt=min(p.pk for p in group) if group[0].kind == Payment.Kind.PAYMENT else None,
        )
        for group in groups.values()
    ]


def receipt_payments(customer: Customer, pk: int) -> list[Payment]:
    """The payments one receipt shows: the payment `pk` of the customer's, and the others of
    the same card Checkout; 404 for anyone else's, or for a refund."""
    payment = get_object_or_404(
        Payment.objects.filter(invoice__customer=customer, kind=Payment.Kind.PAYMENT), pk=pk
    )
    if payment.checkout_id is None:
        return [payment]
    return list(
        Payment.objects.filter(checkout_id=payment.checkout_id, kind=Payment.Kind.PAYMENT)
        .select_related("invoice")
        .order_by("pk")
    )


def checkout_for(customer: Customer, stripe_id: str) -> CheckoutSession:
    """One of the customer's Checkout sessions, with what it pays; 404 for anyone else's."""
    return get_object_or_404(
        CheckoutSession.objects.filter(customer=customer).prefetch_related("items__invoice"),
        stripe_id=stripe_id,
    )


def currencies_of(invoices: list[Invoice]) -> list[str]:
    """The currencies the invoices are in, in code order."""
    return sorted({invoice.currency for invoice in invoices})


def payable(invoices: list[Invoice]) -> bool:
    """Every one of them still owes something (what Pay Now and Pay selected require)."""
    return bool(invoices) and all(invoice.is_payable for invoice in invoices)


def payment_methods_for(customer: Customer):
    """The customer's saved methods, the default first."""
    return PaymentMethod.objects.filter(customer=customer)


class PaymentOutcome:
    """Where an invoice's online payment stands, as the customer is told after Checkout."""

    PROCESSING = "processing"  # paid on Stripe's page; the webhook has not confirmed it yet
    PAID = "paid"
    NEEDS_REVIEW = "needs_review"  # Stripe took money that did not match: staff check it
    FAILED = "failed"  # nothing was charged


def payment_outcome(invoice: Invoice, *, returned_from_checkout: bool = False) -> str | None:
    """None when no payment is under way. Right after the customer came back from Checkout
    (`returned_from_checkout`) an open session counts as processing until its webhook."""
    if invoice.is_settled:
        return PaymentOutcome.PAID
    charging = (ChargeAttempt.Status.CHARGING, ChargeAttempt.Status.PROCESSING)
    if invoice.charge_attempts.filter(status__in=charging).exists():
        return PaymentOutcome.PROCESSING  # an automatic payment Stripe has not confirmed yet
    latest = invoice.checkouts.order_by("-created_at").first()
    if latest is None:
        return None
    if latest.status == CheckoutSession.Status.NEEDS_REVIEW:
        return PaymentOutcome.NEEDS_REVIEW
    if latest.status == CheckoutSession.Status.PROCESSING or (
        returned_from_checkout and latest.status == CheckoutSession.Status.OPEN
    ):
        return PaymentOutcome.PROCESSING
    if returned_from_checkout:
        return PaymentOutcome.FAILED
    return None
