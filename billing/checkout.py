"""Starting a payment: a Stripe Checkout Session for the outstanding amounts of one or several
invoices, reused while it is open. Only a verified webhook (billing/webhooks.py) moves money.

No row is locked while Stripe is called. Two clicks on Pay Now at once send the same request
with the same idempotency key, Stripe answers both with the same session, and the session is
stored once (its Stripe id is unique). Where the keys differ (the clicks fall in two minutes,
or one click stored its session while the other counted attempts), Stripe opens two: the
click that stores second finds the first one's, under the customer's lock, and uses it.
"""

import datetime
import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Customer
from billing import ledger, payment_selectors, profiles
from billing import stripe_gateway as gateway
from billing.exceptions import PaymentRefused
from billing.models import CheckoutItem, CheckoutSession, Invoice, InvoiceEvent, money_params
from core.money import ZERO

MAX_INVOICES_PER_CHECKOUT = 20
CHECKOUT_LIFETIME = datetime.timedelta(hours=1)


def mixed_currencies_reason(currencies: list[str]) -> str:
    """Why invoices in several currencies cannot be paid together."""
    return gettext(
        "The selected invoices are in %(currencies)s: one payment is in one currency. "
        "Select invoices in one currency and pay each currency on its own."
    ) % {"currencies": ", ".join(currencies)}


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
        raise PaymentRefused(gettext("Select at least one unpaid invoice to pay."))
    if len(invoices) > MAX_INVOICES_PER_CHECKOUT:
        raise PaymentRefused(
            gettext("Pay at most %(count)s invoices at once.")
            % {"count": MAX_INVOICES_PER_CHECKOUT}
        )
    invoices = list(
        Invoice.objects.for_customer(customer)
        .filter(pk__in=[invoice.pk for invoice in invoices])
        .order_by("issue_date", "pk")
    )
    settled = [invoice for invoice in invoices if not invoice.is_payable]
    if settled:
        names = ", ".join(f"{i} ({i.get_status_display().lower()})" for i in settled)
        raise PaymentRefused(gettext("Nothing to pay on %(invoices)s.") % {"invoices": names})
    currencies = payment_selectors.currencies_of(invoices)
    if len(currencies) > 1:
        raise PaymentRefused(mixed_currencies_reason(currencies))
    amounts = {invoice.pk: invoice.outstanding for invoice in invoices}
    now = timezone.now()
    reusable = _open_checkout_for(customer, amounts, now=now)
    if reusable:
        return reusable

    stripe_customer = profiles.stripe_customer_for(customer, user)
    numbers = [invoice.number for invoice in invoices]
    basis = numbers[0] if len(numbers) == 1 else _batch_key(numbers)
    attempt = CheckoutSession.objects.filter(
        idempotency_key__startswith=f"checkout-{basis}-"
    ).count()
    # The expiry is part of the request, so it is the same for every click of this attempt
    # within the same minute: Stripe then answers a repeated click with the same session.
    expires_at = now.replace(second=0, microsecond=0) + CHECKOUT_LIFETIME
    idempotency_key = f"checkout-{basis}-{attempt + 1}-{expires_at:%Y%m%d%H%M}"
    currency = invoices[0].currency
    created = gateway.create_checkout_session(
        stripe_customer=stripe_customer,
        lines=[
            gateway.CheckoutLine(name=f"Invoice {invoice.number}", amount=amounts[invoice.pk])
            for invoice in invoices
        ],
        currency=currency,
        reference=",".join(numbers)[:200],
        metadata={"invoice_numbers": ",".join(numbers), "portal_customer": customer.number},
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=expires_at,
        idempotency_key=idempotency_key,
    )
    try:
        return _store_checkout(
            customer=customer,
            invoices=invoices,
            amounts=amounts,
            created=created,
            currency=currency,
            attempt=attempt,
            idempotency_key=idempotency_key,
            user=user,
        )
    except IntegrityError:
        # The other click stored the same session first.
        return CheckoutSession.objects.get(stripe_id=created.stripe_id)


@transaction.atomic
def _store_checkout(
    *, customer, invoices, amounts, created, currency, attempt, idempotency_key, user
) -> CheckoutSession:
    # Two clicks that reached Stripe with different keys got two sessions: the one that comes
    # here second waits for the first one's commit, then uses its session. Ours stays unused
    # at Stripe and expires with its hour; nobody was sent its address.
    ledger.lock_customer(customer.pk)
    if stored := _open_checkout_for(customer, amounts, now=timezone.now()):
        return stored
    checkout = CheckoutSession.objects.create(
        customer=customer,
        stripe_id=created.stripe_id,
        url=created.url,
        amount_total=sum(amounts.values(), ZERO),
        currency=currency,
        attempt=attempt,
        idempotency_key=idempotency_key,
        started_by=user,
        expires_at=created.expires_at,
    )
    CheckoutItem.objects.bulk_create(
        CheckoutItem(checkout=checkout, invoice=invoice, amount=amounts[invoice.pk])
        for invoice in invoices
    )
    for invoice in invoices:
        InvoiceEvent.record(
            invoice,
            InvoiceEvent.Kind.CHECKOUT_STARTED,
            actor=user,
            **money_params(amounts[invoice.pk], currency),
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
