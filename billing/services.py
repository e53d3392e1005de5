"""Invoice workflows. Each runs in one transaction and re-reads the invoice under a row lock
where two requests, a worker and a member of staff might act on it at the same time."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Customer
from accounts.selectors import billing_emails
from billing import emails
from billing.models import (
    InvalidTransition,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceSequence,
    Payment,
)
from billing.money import ZERO, round_money, vat_amount
from billing.pdf import render_invoice_pdf


class BillingError(Exception):
    """A workflow refused for a reason staff or the customer should read."""


def utc_today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def vat_rate_for(customer: Customer) -> Decimal:
    """Domestic customers pay the seller's VAT; others are reverse-charged or out of scope (0%)."""
    if customer.country == settings.SELLER["country"]:
        return settings.VAT_RATE
    return Decimal("0.00")


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def record_event(
    invoice: Invoice, kind: str, message: str = "", actor=None, at=None
) -> InvoiceEvent:
    return InvoiceEvent.objects.create(
        invoice=invoice, kind=kind, message=message, actor=actor, created_at=at or timezone.now()
    )


@transaction.atomic
def create_draft(
    *,
    customer: Customer,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    vat_rate: Decimal | None = None,
) -> Invoice:
    return Invoice.objects.create(
        customer=customer,
        period_start=period_start,
        period_end=period_end,
        currency=customer.currency,
        vat_rate=vat_rate_for(customer) if vat_rate is None else vat_rate,
    )


@dataclass(frozen=True)
class LineSpec:
    service: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal


@transaction.atomic
def add_lines(*, invoice: Invoice, lines: list[LineSpec]) -> list[InvoiceLine]:
    """Add lines to a draft and bring its totals up to date."""
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise BillingError(f"{invoice} is finalized; its lines cannot change.")
    start = invoice.lines.count()
    created = [
        InvoiceLine.objects.create(
            invoice=invoice,
            position=start + index,
            service=spec.service,
            description=spec.description,
            quantity=spec.quantity,
            unit=spec.unit,
            unit_price=spec.unit_price,
        )
        for index, spec in enumerate(lines)
    ]
    _update_totals(invoice)
    return created


@transaction.atomic
def refresh_draft_totals(*, invoice: Invoice) -> Invoice:
    """After staff edited a draft's lines in the admin: bring its totals up to date."""
    invoice = _locked(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        _update_totals(invoice)
    return invoice


def _update_totals(invoice: Invoice) -> None:
    """Subtotal is the sum of the rounded lines; VAT is rounded once on it."""
    subtotal = invoice.lines.aggregate(s=Sum("amount"))["s"] or ZERO
    invoice.subtotal = subtotal
    invoice.vat_amount = vat_amount(subtotal, invoice.vat_rate)
    invoice.total = subtotal + invoice.vat_amount
    invoice.save(update_fields=["subtotal", "vat_amount", "total"])


def _next_number(year: int) -> str:
    # Two finalizations at once must not share a number or leave a gap: the year's row is
    # locked until this transaction ends, and rolls back with it.
    InvoiceSequence.objects.get_or_create(year=year)
    sequence = InvoiceSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"INV-{year}-{sequence.last_number:04d}"


@transaction.atomic
def finalize_invoice(
    *,
    invoice: Invoice,
    actor=None,
    issue_date: datetime.date | None = None,
    deliver: bool = True,
) -> Invoice:
    """Give a draft its number, dates and final amounts; from now on it is immutable.

    With `deliver`, after commit a worker renders the PDF and emails it to the customer's
    Billing contacts (staff importing old invoices turn that off).
    """
    invoice = _locked(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise BillingError(f"{invoice} is already finalized.")
    if not invoice.lines.exists():
        raise BillingError("An invoice needs at least one line before it can be finalized.")
    _update_totals(invoice)
    issue_date = issue_date or utc_today()
    invoice.number = _next_number(issue_date.year)
    invoice.issue_date = issue_date
    invoice.finalized_at = timezone.now()
    if invoice.is_credit_note:
        invoice.due_date = issue_date
        invoice.transition_to(Invoice.Status.PAID)
        invoice.paid_at = invoice.finalized_at
    else:
        invoice.due_date = issue_date + datetime.timedelta(days=invoice.customer.payment_terms_days)
        invoice.transition_to(Invoice.Status.UNPAID)
    invoice.save()
    record_event(invoice, InvoiceEvent.Kind.FINALIZED, f"Issued as {invoice.number}.", actor)
    if deliver:
        _deliver_after_commit(invoice.pk)
    return invoice


def _deliver_after_commit(invoice_id: int) -> None:
    from billing import tasks  # tasks import services: import here to keep one direction

    transaction.on_commit(lambda: tasks.render_invoice_pdf.delay(invoice_id))
    transaction.on_commit(lambda: tasks.send_invoice_email.delay(invoice_id))


@transaction.atomic
def void_invoice(*, invoice: Invoice, actor=None, reason: str = "") -> Invoice:
    """Cancel an issued invoice nobody has paid anything on. Otherwise: a credit note."""
    invoice = _locked(invoice)
    if invoice.is_credit_note:
        raise BillingError("A credit note cannot be voided.")
    if invoice.amount_paid > 0 or invoice.amount_credited > 0:
        raise BillingError(
            f"{invoice} has payments or credits recorded; issue a credit note instead."
        )
    try:
        invoice.transition_to(Invoice.Status.VOID)
    except InvalidTransition as exc:
        raise BillingError(str(exc)) from None
    invoice.save(update_fields=["status"])
    record_event(invoice, InvoiceEvent.Kind.VOIDED, reason or "Voided.", actor)
    return invoice


@transaction.atomic
def issue_credit_note(
    *,
    invoice: Invoice,
    reason: str,
    net_amount: Decimal | None = None,
    actor=None,
    issue_date: datetime.date | None = None,
    deliver: bool = True,
) -> Invoice:
    """Credit an issued invoice, wholly (every line reversed) or by a net amount plus VAT.

    The credit reduces what is owed on the invoice; an invoice whose payments and credits
    cover its total is settled. A credit beyond what is still owed is money to refund: the
    timeline says how much.
    """
    invoice = _locked(invoice)
    if invoice.is_credit_note or invoice.status in {Invoice.Status.DRAFT, Invoice.Status.VOID}:
        raise BillingError(f"{invoice} is not an issued invoice that can be credited.")
    creditable = invoice.total - invoice.amount_credited
    if net_amount is None:
        if invoice.amount_credited:
            raise BillingError(f"{invoice} was credited before; credit the rest by amount.")
        lines = [
            LineSpec(line.service, line.description, line.quantity, line.unit, -line.unit_price)
            for line in invoice.lines.all()
        ]
    else:
        net_amount = round_money(net_amount)
        if net_amount <= 0:
            raise BillingError("A credit amount must be more than zero.")
        lines = [LineSpec("Credit", reason or "Credit", Decimal("1"), "credit", -net_amount)]

    note = Invoice.objects.create(
        customer=invoice.customer,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        reason=reason,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        vat_rate=invoice.vat_rate,
    )
    add_lines(invoice=note, lines=lines)
    note.refresh_from_db()
    credit = -note.total
    if credit > creditable:
        raise BillingError(
            f"A credit of {credit} {invoice.currency} is more than the {creditable} "
            f"{invoice.currency} left to credit on {invoice}."
        )
    note = finalize_invoice(invoice=note, actor=actor, issue_date=issue_date, deliver=deliver)

    owed_before = invoice.outstanding
    Invoice.objects.filter(pk=invoice.pk).update(amount_credited=F("amount_credited") + credit)
    invoice.refresh_from_db()
    message = f"{note.number} credits {credit} {invoice.currency}."
    if credit > owed_before:
        refund = credit - owed_before
        message += f" {refund} {invoice.currency} of it exceeds what was owed: refund it."
    record_event(invoice, InvoiceEvent.Kind.CREDITED, message, actor)
    if invoice.settle_if_covered(at=timezone.now()):
        invoice.save(update_fields=["status", "paid_at"])
        record_event(invoice, InvoiceEvent.Kind.PAID, "Settled by credit note.", actor)
    return note


@transaction.atomic
def record_bank_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    received_at: datetime.datetime,
    reference: str = "",
    actor=None,
) -> Payment:
    """Record a bank transfer that staff saw arrive. Partial payments leave the rest owed."""
    invoice = _locked(invoice)
    if not invoice.is_open:
        raise BillingError(f"{invoice} is {invoice.get_status_display().lower()}: nothing is owed.")
    amount = round_money(amount)
    if amount <= 0:
        raise BillingError("A payment must be more than zero.")
    if amount > invoice.outstanding:
        raise BillingError(
            f"{amount} {invoice.currency} is more than the {invoice.outstanding} "
            f"{invoice.currency} outstanding on {invoice}."
        )
    message = f"Bank transfer of {amount} {invoice.currency} received"
    message += f" (reference {reference})." if reference else "."
    return apply_payment(
        invoice=invoice,
        amount=amount,
        method=Payment.Method.BANK_TRANSFER,
        received_at=received_at,
        message=message,
        actor=actor,
        reference=reference,
    )


def apply_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_at: datetime.datetime,
    message: str,
    actor=None,
    **details,
) -> Payment:
    """Book money received on an invoice the caller has locked, and settle it once covered.

    `details` are the Payment's references (bank reference, Stripe ids, checkout).
    """
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
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=F("amount_paid") + amount)
    invoice.refresh_from_db()
    record_event(invoice, InvoiceEvent.Kind.PAYMENT_RECEIVED, message, actor, at=received_at)
    if invoice.settle_if_covered(at=received_at):
        invoice.save(update_fields=["status", "paid_at"])
        record_event(invoice, InvoiceEvent.Kind.PAID, "Paid in full.", actor, at=received_at)
    return payment


def has_stored_pdf(invoice: Invoice) -> bool:
    return bool(invoice.pdf) and invoice.pdf.storage.exists(invoice.pdf.name)


def store_invoice_pdf(*, invoice: Invoice, force: bool = False, actor=None) -> Invoice:
    """Render the invoice's PDF and store it, unless a stored one exists (or `force`).

    Rendering takes a fifth of a second a page, so it happens outside the transaction; if two
    callers render at once, the first to store wins and the other's copy is dropped.
    """
    if has_stored_pdf(invoice) and not force:
        return invoice
    data = render_invoice_pdf(invoice)
    with transaction.atomic():
        invoice = _locked(invoice)
        if has_stored_pdf(invoice) and not force:
            return invoice
        if invoice.pdf:
            invoice.pdf.delete(save=False)
        invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(data), save=False)
        invoice.pdf_rendered_at = timezone.now()
        invoice.save(update_fields=["pdf", "pdf_rendered_at"])
        record_event(invoice, InvoiceEvent.Kind.PDF_RENDERED, "PDF created.", actor)
    return invoice


def flag_overdue_invoices(*, today: datetime.date) -> list[int]:
    """Flag unpaid invoices past their due date. Returns the ids this call flagged.

    Each invoice is claimed with a conditional update, so two runs at once (or one run twice)
    flag, and later remind, each invoice exactly once.
    """
    flagged = []
    now = timezone.now()
    for invoice_id in Invoice.objects.past_due(today).values_list("pk", flat=True):
        with transaction.atomic():
            claimed = Invoice.objects.filter(
                pk=invoice_id, status=Invoice.Status.UNPAID, overdue_at=None
            ).update(status=Invoice.Status.OVERDUE, overdue_at=now)
            if claimed:
                invoice = Invoice.objects.get(pk=invoice_id)
                record_event(
                    invoice,
                    InvoiceEvent.Kind.MARKED_OVERDUE,
                    f"Not paid by its due date, {date_format(invoice.due_date, 'j M Y')}.",
                )
                flagged.append(invoice_id)
    return flagged


def email_invoice(*, invoice: Invoice, resend: bool = False, actor=None) -> list[str]:
    """Email the invoice with its PDF to the customer's Billing contacts; returns who got it.

    Sent once after finalizing (claimed through `emailed_at`); staff may resend. The claim and
    the send share a transaction: if the mail server refuses, the claim is undone for a retry.
    """
    recipients = billing_emails(invoice.customer)
    if not recipients:
        record_event(
            invoice, InvoiceEvent.Kind.NOT_EMAILED, "No contact has the Billing role.", actor
        )
        return []
    invoice = store_invoice_pdf(invoice=invoice)
    with transaction.atomic():
        claimed = Invoice.objects.filter(pk=invoice.pk)
        if not resend:
            claimed = claimed.filter(emailed_at=None)
        if not claimed.update(emailed_at=timezone.now()):
            return []
        with invoice.pdf.open("rb") as pdf:
            emails.invoice_issued(invoice, recipients, pdf.read()).send()
        record_event(invoice, InvoiceEvent.Kind.EMAILED, f"Sent to {', '.join(recipients)}.", actor)
    return recipients


def email_overdue_reminder(*, invoice: Invoice) -> list[str]:
    """One reminder per overdue invoice to the Billing contacts (claimed via reminder_sent_at)."""
    recipients = billing_emails(invoice.customer)
    with transaction.atomic():
        claimed = Invoice.objects.filter(
            pk=invoice.pk, status=Invoice.Status.OVERDUE, reminder_sent_at=None
        ).update(reminder_sent_at=timezone.now())
        if not claimed or not recipients:
            return []
        emails.overdue_reminder(invoice, recipients).send()
        record_event(
            invoice, InvoiceEvent.Kind.REMINDER_SENT, f"Reminder sent to {', '.join(recipients)}."
        )
    return recipients
