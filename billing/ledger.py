"""Money movements: payments and refunds on invoices, and the customer's credit.

Each function runs inside its caller's transaction, on rows the caller has locked, in the one
lock order every workflow keeps: the customer row (only where credit is spent), then invoices
by primary key (`lock_invoices`), then, last, the customer's invoice summary (`book`, taken
when an invoice is saved; nothing locks an invoice after it). Amounts are added up in Decimal
on the locked rows, never with F() expressions, which SQLite evaluates as floating point.
"""

import datetime
from decimal import Decimal

from django.db.models import Q, Sum

from accounts import services as accounts_services
from accounts.models import Customer
from billing import jobs, selectors
from billing.models import CreditEntry, Invoice, InvoiceEvent, InvoiceSummary, Payment, money_params
from billing.models.summary import (
    INVOICE_FIELDS,
    contribution,
    difference,
    invoice_contribution,
    recount,
)
from core.money import ZERO

# Spending credit reads the balance, then spends it: two of those at once (two invoices
# finalized, a refund and a finalization) must not spend the same money. They take the
# customer's row lock (the one accounts takes for contacts and team) first, before any invoice.
lock_customer = accounts_services.lock_customer


def lock_invoices(ids) -> dict[int, Invoice]:
    """The invoices with these ids, locked in the one order everywhere, with their customer."""
    invoices = Invoice.objects.filter(pk__in=list(ids)).select_related("customer").locked()
    return {invoice.pk: invoice for invoice in invoices}


def lock_invoice(invoice: Invoice) -> Invoice:
    """`invoice` read again under its row lock (a workflow on one invoice)."""
    return lock_invoices([invoice.pk])[invoice.pk]


def save_revision(invoice: Invoice, *fields: str) -> None:
    """Save a change of the invoice's status or amounts (all fields when none are named), and
    book it in the customer's summary. Its revision counts up, so a stored PDF of it is stale:
    it is rendered again after commit."""
    stored = Invoice.objects.filter(pk=invoice.pk).values(*INVOICE_FIELDS).get()
    invoice.revision += 1
    invoice.save(update_fields=[*fields, "revision"] if fields else None)
    book(
        invoice.customer_id,
        invoice.currency,
        before=contribution(**stored),
        after=invoice_contribution(invoice),
    )
    if invoice.pdf:
        jobs.after_commit(jobs.RENDER_PDF, invoice.pk)


def book(customer_id: int, currency: str, *, before: dict, after: dict) -> None:
    """Move the customer's summary in the invoice's currency (billing/models/summary.py) from
    an invoice's contribution `before` a change to the one `after` it, in the transaction that
    made the change."""
    delta = difference(before, after)
    if not delta:
        return
    # Two changes to one customer's invoices at once (a payment and the overdue run on two
    # invoices) would each add to the figures they read: the row is locked, the second waits.
    rows = InvoiceSummary.objects.select_for_update()
    summary = rows.filter(customer_id=customer_id, currency=currency).first()
    if summary is None:
        # The customer's first issued invoice in this currency; one made at the same moment
        # waits on the unique key.
        InvoiceSummary.objects.bulk_create(
            [InvoiceSummary(customer_id=customer_id, currency=currency)], ignore_conflicts=True
        )
        summary = rows.get(customer_id=customer_id, currency=currency)
    summary.add(delta)
    summary.save()


def recount_summaries(customer_ids=None) -> None:
    """Make the customers' summaries again from their invoices (after invoices were written
    in bulk, outside the workflows)."""
    recount(Invoice, InvoiceSummary, customer_ids)


def settle_or_reopen(invoice: Invoice, *, at: datetime.datetime, actor=None) -> None:
    """After money or credit moved: settle or reopen the invoice, and say so in its timeline.
    The caller saves."""
    status = invoice.update_status(at=at, today=invoice.local_date(at))
    if status == Invoice.Status.PAID:
        InvoiceEvent.record(invoice, InvoiceEvent.Kind.PAID, actor=actor, at=at)
    elif status == Invoice.Status.CREDITED:
        InvoiceEvent.record(invoice, InvoiceEvent.Kind.SETTLED, actor=actor)
    elif status in Invoice.OPEN_STATUSES:
        owed = money_params(invoice.outstanding, invoice.currency)
        InvoiceEvent.record(invoice, InvoiceEvent.Kind.REOPENED, at=at, **owed)


# ---- Money on invoices ----


def apply_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_at: datetime.datetime,
    actor=None,
    **details,
) -> Payment:
    """Book money received on a locked invoice (no more than it owes) and settle it once
    covered. `details` are the Payment's references (bank reference, Stripe ids, checkout)."""
    payment = Payment.objects.create(
        invoice=invoice,
        kind=Payment.Kind.PAYMENT,
        amount=amount,
        currency=invoice.currency,
        method=method,
        received_at=received_at,
        recorded_by=actor,
        **details,
    )
    invoice.amount_paid += amount
    InvoiceEvent.record(
        invoice,
        InvoiceEvent.Kind.PAYMENT_RECEIVED,
        actor=actor,
        at=received_at,
        method=method,
        reference=details.get("reference", ""),
        **money_params(amount, invoice.currency),
    )
    settle_or_reopen(invoice, at=received_at, actor=actor)
    save_revision(invoice, "amount_paid", "status", "paid_at", "overdue_at")
    return payment


def unreversed(payment: Payment) -> Decimal:
    """What is left of a payment on its invoice after refunds and moves to credit."""
    reversed_ = payment.reversals.aggregate(total=Sum("amount"))["total"] or ZERO
    return payment.amount - reversed_


def _take_from(payment: Payment, *, kind: str, amount: Decimal, at, **details) -> Payment:
    """A row that takes `amount` of a payment back off its invoice (a refund, a move to credit),
    carrying the payment's method and Stripe references."""
    return Payment.objects.create(
        invoice=payment.invoice,
        kind=kind,
        source=payment,
        amount=amount,
        currency=payment.currency,
        method=payment.method,
        checkout=payment.checkout,
        stripe_payment_intent=payment.stripe_payment_intent,
        received_at=at,
        **details,
    )


def refund_payment(
    *, payment: Payment, invoice: Invoice, amount: Decimal, at: datetime.datetime, **details
) -> Payment:
    """Give `amount` of a payment back to the customer; the locked invoice is owed it again."""
    refund = _take_from(payment, kind=Payment.Kind.REFUND, amount=amount, at=at, **details)
    invoice.amount_paid -= amount
    InvoiceEvent.record(
        invoice, InvoiceEvent.Kind.REFUNDED, at=at, **money_params(amount, invoice.currency)
    )
    settle_or_reopen(invoice, at=at)
    save_revision(invoice, "amount_paid", "status", "paid_at", "overdue_at")
    return refund


# ---- The customer's credit ----


def add_overpayment(
    *, customer: Customer, amount: Decimal, currency: str, note: str, **details
) -> CreditEntry:
    """Money received beyond what its invoices owed: kept as credit (no lock needed to add)."""
    return CreditEntry.objects.create(
        customer=customer,
        kind=CreditEntry.Kind.OVERPAYMENT,
        amount=amount,
        currency=currency,
        note=note,
        **details,
    )


def apply_credit(*, invoice: Invoice, at: datetime.datetime, actor=None) -> Decimal:
    """Set the customer's credit in the invoice's currency off against a newly issued, locked
    invoice (customer locked too); credit in another currency stays. Returns how much was
    applied; the caller updates the status and saves."""
    amount = min(selectors.credit_balance(invoice.customer, invoice.currency), invoice.owed)
    if amount <= 0:
        return ZERO
    CreditEntry.objects.create(
        customer=invoice.customer,
        kind=CreditEntry.Kind.APPLIED,
        amount=amount,
        currency=invoice.currency,
        invoice=invoice,
        note=f"Applied to {invoice.number}.",
        actor=actor,
        created_at=at,
    )
    invoice.credit_applied += amount
    InvoiceEvent.record(
        invoice,
        InvoiceEvent.Kind.CREDIT_APPLIED,
        actor=actor,
        at=at,
        **money_params(amount, invoice.currency),
    )
    return amount


def free_for_credit(
    *, invoice: Invoice, credit_note: Invoice, amount: Decimal, at: datetime.datetime, actor=None
) -> None:
    """A credit note made `amount` of what was paid on a locked invoice unneeded: it becomes
    the customer's credit. Applied credit goes back first, then the newest payments."""
    returned = min(amount, invoice.credit_applied)
    if returned > 0:
        CreditEntry.objects.create(
            customer=invoice.customer,
            kind=CreditEntry.Kind.UNAPPLIED,
            amount=returned,
            currency=invoice.currency,
            invoice=invoice,
            credit_note=credit_note,
            note=f"Credit applied to {invoice.number}, returned by {credit_note.number}.",
            actor=actor,
            created_at=at,
        )
        invoice.credit_applied -= returned
    rest = amount - returned
    payments = invoice.payments.filter(kind=Payment.Kind.PAYMENT).order_by("-received_at", "-pk")
    for payment in payments:
        if rest <= 0:
            break
        moved = min(rest, unreversed(payment))
        if moved <= 0:
            continue
        move = _take_from(
            payment, kind=Payment.Kind.TO_CREDIT, amount=moved, at=at, recorded_by=actor
        )
        CreditEntry.objects.create(
            customer=invoice.customer,
            kind=CreditEntry.Kind.FREED,
            amount=moved,
            currency=invoice.currency,
            invoice=invoice,
            credit_note=credit_note,
            payment=move,
            payment_intent=payment.stripe_payment_intent,
            note=f"Paid on {invoice.number}, freed by {credit_note.number}.",
            actor=actor,
            created_at=at,
        )
        invoice.amount_paid -= moved
        rest -= moved
    InvoiceEvent.record(
        invoice,
        InvoiceEvent.Kind.MOVED_TO_CREDIT,
        actor=actor,
        at=at,
        **money_params(amount, invoice.currency),
    )


def refund_credit(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    note: str,
    at: datetime.datetime,
    actor=None,
    **details,
) -> CreditEntry:
    """Pay credit in `currency` back to the customer (the customer row is locked by the
    caller)."""
    return CreditEntry.objects.create(
        customer=customer,
        kind=CreditEntry.Kind.REFUNDED,
        amount=amount,
        currency=currency,
        note=note,
        actor=actor,
        created_at=at,
        **details,
    )


def credit_from_payment(customer: Customer, payment_intent: str) -> Decimal:
    """How much of the customer's credit a Stripe payment created (an overpayment, or money it
    paid that a credit note freed) and that has not gone back to it yet."""
    entries = CreditEntry.objects.filter(customer=customer, payment_intent=payment_intent)
    incoming = entries.filter(kind__in=CreditEntry.INCOMING).aggregate(s=Sum("amount"))["s"]
    refunded = entries.filter(kind=CreditEntry.Kind.REFUNDED).aggregate(s=Sum("amount"))["s"]
    return (incoming or ZERO) - (refunded or ZERO)


def refunded_through_stripe(payment_intent: str) -> Decimal:
    """Everything of a Stripe payment we booked as refunded: from invoices and from credit."""
    refunds = Payment.objects.filter(stripe_payment_intent=payment_intent, kind=Payment.Kind.REFUND)
    credit = CreditEntry.objects.filter(
        Q(payment_intent=payment_intent) & Q(kind=CreditEntry.Kind.REFUNDED)
    )
    return (refunds.aggregate(s=Sum("amount"))["s"] or ZERO) + (
        credit.aggregate(s=Sum("amount"))["s"] or ZERO
    )
