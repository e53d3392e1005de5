"""Invoice workflows: drafts, finalizing, voiding, credit notes, bank payments, refunding credit
and overdue flagging. Each runs in one transaction, with the rows it changes locked in the one
order every workflow keeps (billing/ledger.py): the customer, then invoices by primary key.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone, translation

from accounts.models import Customer
from billing import jobs, ledger, selectors, vat
from billing.exceptions import BillingError
from billing.models import (
    CREDIT_SERVICE,
    CREDIT_UNIT,
    CreditReason,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    check_fits,
    customer_details,
    money_params,
)
from billing.models.summary import INVOICE_FIELDS, contribution
from core.money import ZERO, format_money, round_money, vat_amount


def utc_today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


@transaction.atomic
def create_draft(
    *,
    customer: Customer,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    vat_rate: Decimal | None = None,
    usage_month: datetime.date | None = None,
) -> Invoice:
    """A draft taxed by the EU rule (billing/vat.py) for the customer's confirmed country and
    VAT id, at the rates in force at the end of the period it bills (or today); `vat_rate`
    overrides the rate, not the treatment."""
    tax = vat.vat_for(
        country=customer.country, vat_id=customer.vat_id, on=period_end or utc_today()
    )
    return Invoice.objects.create(
        customer=customer,
        period_start=period_start,
        period_end=period_end,
        usage_month=usage_month,
        currency=customer.billing_profile.currency,
        vat_treatment=tax.treatment,
        vat_rate=tax.rate if vat_rate is None else vat_rate,
    )


@dataclass(frozen=True)
class LineSpec:
    service: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    metric: str = ""  # a usage line's metric; blank on a line staff wrote
    month: datetime.date | None = None  # the month a usage line's usage is from
    late: bool = False  # usage of an earlier month, counted after it was invoiced


@transaction.atomic
def add_lines(*, invoice: Invoice, lines: list[LineSpec]) -> list[InvoiceLine]:
    """Add lines to a draft and bring its totals up to date."""
    invoice = ledger.lock_invoice(invoice)
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
            metric=spec.metric,
            month=spec.month,
            late=spec.late,
        )
        for index, spec in enumerate(lines)
    ]
    _update_totals(invoice)
    return created


@transaction.atomic
def refresh_draft_totals(*, invoice: Invoice) -> Invoice:
    """After staff edited a draft's lines in the admin: bring its totals up to date."""
    invoice = ledger.lock_invoice(invoice)
    if invoice.status == Invoice.Status.DRAFT:
        _update_totals(invoice)
    return invoice


def _update_totals(invoice: Invoice) -> None:
    """Subtotal is the sum of the rounded lines; VAT is rounded once on it."""
    subtotal = invoice.lines.aggregate(s=Sum("amount"))["s"] or ZERO
    invoice.subtotal = subtotal
    invoice.vat_amount = vat_amount(subtotal, invoice.vat_rate, invoice.currency)
    invoice.total = subtotal + invoice.vat_amount
    check_fits(invoice, "subtotal", "vat_amount", "total")
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

    The customer's credit is set off against it, oldest invoice first as they are issued; an
    invoice that owes nothing after that (a zero total, or covered by credit) is settled at
    once. With `deliver`, after commit a worker renders the PDF and emails it to the
    customer's Billing contacts (staff importing old invoices turn that off).
    """
    ledger.lock_customer(invoice.customer_id)
    invoice = ledger.lock_invoice(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise BillingError(f"{invoice} is already finalized.")
    if not invoice.lines.exists():
        raise BillingError("An invoice needs at least one line before it can be finalized.")
    _update_totals(invoice)
    now = timezone.now()
    issue_date = issue_date or utc_today()
    invoice.number = _next_number(issue_date.year)
    invoice.issue_date = issue_date
    invoice.finalized_at = now
    invoice.bill_to = customer_details(invoice.customer)
    InvoiceEvent.record(invoice, InvoiceEvent.Kind.FINALIZED, actor=actor, number=invoice.number)
    if invoice.is_credit_note:
        invoice.due_date = issue_date
        invoice.transition_to(Invoice.Status.CREDITED)
    else:
        invoice.due_date = issue_date + datetime.timedelta(
            days=invoice.customer.billing_profile.payment_terms_days
        )
        invoice.transition_to(Invoice.Status.UNPAID)
        ledger.apply_credit(invoice=invoice, at=now, actor=actor)
        ledger.settle_or_reopen(invoice, at=now, actor=actor)
    invoice.deliver = deliver
    ledger.save_revision(invoice)
    if deliver:
        jobs.after_commit(jobs.RENDER_PDF, invoice.pk)
        jobs.after_commit(jobs.SEND_INVOICE_EMAIL, invoice.pk)
        if invoice.is_payable and invoice.customer.billing_profile.autopay:
            jobs.after_commit(jobs.CHARGE_ON_ISSUE, invoice.pk)
    return invoice


@transaction.atomic
def void_invoice(*, invoice: Invoice, actor=None, reason: str = "") -> Invoice:
    """Cancel an issued invoice nobody has paid anything on. Otherwise: a credit note."""
    invoice = ledger.lock_invoice(invoice)
    if invoice.is_credit_note:
        raise BillingError("A credit note cannot be voided.")
    if invoice.amount_paid or invoice.amount_credited or invoice.credit_applied:
        raise BillingError(
            f"{invoice} has payments or credits recorded; issue a credit note instead."
        )
    invoice.transition_to(Invoice.Status.VOID)
    ledger.save_revision(invoice, "status")
    InvoiceEvent.record(invoice, InvoiceEvent.Kind.VOIDED, actor=actor, message=reason)
    return invoice


@transaction.atomic
def issue_credit_note(
    *,
    invoice: Invoice,
    reason_code: str = "",
    reason: str = "",
    net_amount: Decimal | None = None,
    actor=None,
    issue_date: datetime.date | None = None,
    deliver: bool = True,
) -> Invoice:
    """Credit an issued invoice, wholly (every line reversed) or by a net amount plus VAT,
    for one of the fixed reasons (`reason_code`, a CreditReason), words staff type
    (`reason`), or both.

    The credit reduces what is owed on the invoice; one that owes nothing more is settled.
    Money already paid beyond what is now owed becomes the customer's credit, set off against
    their next invoices or refunded by staff.
    """
    ledger.lock_customer(invoice.customer_id)
    invoice = ledger.lock_invoice(invoice)
    if invoice.is_credit_note or invoice.status in {Invoice.Status.DRAFT, Invoice.Status.VOID}:
        raise BillingError(f"{invoice} is not an issued invoice that can be credited.")
    if reason_code and reason_code not in CreditReason.values:
        raise BillingError(f"{reason_code!r} is not one of the credit note reasons.")
    if not (reason_code or reason.strip()):
        raise BillingError("A credit note needs a reason: choose one or type it.")
    creditable = invoice.total - invoice.amount_credited
    if net_amount is None:
        if invoice.amount_credited:
            raise BillingError(f"{invoice} was credited before; credit the rest by amount.")
        lines = [
            LineSpec(
                line.service,
                line.description,
                line.quantity,
                line.unit,
                -line.unit_price,
                metric=line.metric,
                month=line.month,
            )
            for line in invoice.lines.all()
        ]
    else:
        net_amount = round_money(net_amount, invoice.currency)
        if net_amount <= 0:
            raise BillingError("A credit amount must be more than zero.")
        with translation.override("en"):  # descriptions are stored in English
            description = Invoice(reason_code=reason_code, reason=reason).reason_text
        lines = [LineSpec(CREDIT_SERVICE, description, Decimal("1"), CREDIT_UNIT, -net_amount)]

    note = Invoice.objects.create(
        customer=invoice.customer,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        reason_code=reason_code,
        reason=reason,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        vat_treatment=invoice.vat_treatment,
        vat_rate=invoice.vat_rate,
    )
    add_lines(invoice=note, lines=lines)
    note.refresh_from_db()
    credit = note.credit_value
    if credit > creditable:
        raise BillingError(
            f"A credit of {credit} {invoice.currency} is more than the {creditable} "
            f"{invoice.currency} left to credit on {invoice}."
        )
    note = finalize_invoice(invoice=note, actor=actor, issue_date=issue_date, deliver=deliver)

    now = timezone.now()
    invoice.amount_credited += credit
    InvoiceEvent.record(
        invoice,
        InvoiceEvent.Kind.CREDITED,
        actor=actor,
        number=note.number,
        **money_params(credit, invoice.currency),
    )
    freed = invoice.amount_paid + invoice.credit_applied - (invoice.total - invoice.amount_credited)
    if freed > 0:
        ledger.free_for_credit(invoice=invoice, credit_note=note, amount=freed, at=now, actor=actor)
    ledger.settle_or_reopen(invoice, at=now, actor=actor)
    ledger.save_revision(
        invoice, "amount_credited", "amount_paid", "credit_applied", "status", "paid_at"
    )
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
    invoice = ledger.lock_invoice(invoice)
    if not invoice.is_open:
        raise BillingError(f"{invoice} is {invoice.get_status_display().lower()}: nothing is owed.")
    amount = round_money(amount, invoice.currency)
    if amount <= 0:
        raise BillingError("A payment must be more than zero.")
    if amount > invoice.outstanding:
        raise BillingError(
            f"{amount} {invoice.currency} is more than the {invoice.outstanding} "
            f"{invoice.currency} outstanding on {invoice}."
        )
    return ledger.apply_payment(
        invoice=invoice,
        amount=amount,
        method=Payment.Method.BANK_TRANSFER,
        received_at=received_at,
        actor=actor,
        reference=reference,
    )


@transaction.atomic
def refund_customer_credit(
    *, customer: Customer, amount: Decimal, currency: str, reference: str = "", actor=None
):
    """Staff paid some of the customer's credit in `currency` back (by bank transfer): book
    it."""
    customer = ledger.lock_customer(customer.pk)
    amount = round_money(amount, currency)
    if amount <= 0:
        raise BillingError("A refund must be more than zero.")
    balance = selectors.credit_balance(customer, currency)
    if amount > balance:
        raise BillingError(
            f"{customer.name} has {format_money(balance, currency)} of credit; "
            f"{format_money(amount, currency)} cannot be refunded."
        )
    note = "Refunded by bank transfer" + (f" (reference {reference})." if reference else ".")
    return ledger.refund_credit(
        customer=customer,
        amount=amount,
        currency=currency,
        note=note,
        reference=reference,
        at=timezone.now(),
        actor=actor,
    )


def flag_overdue_invoices(*, now: datetime.datetime) -> list[int]:
    """Flag unpaid invoices whose due date has passed in their customer's time zone. Returns the
    ids this call flagged.

    Each invoice is claimed with a conditional update, so two runs at once (or one run twice)
    flag each invoice exactly once.
    """
    # No customer's date is later than UTC+14's: invoices due before that are the candidates,
    # each then checked against its own customer's date.
    latest_date = (now + datetime.timedelta(hours=14)).astimezone(datetime.UTC).date()
    candidates = Invoice.objects.filter(
        status=Invoice.Status.UNPAID, due_date__lt=latest_date
    ).select_related("customer")
    flagged = []
    for invoice in candidates:
        if invoice.due_date >= invoice.local_date(now):
            continue
        with transaction.atomic():
            claimed = Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.UNPAID).update(
                status=Invoice.Status.OVERDUE, overdue_at=now, revision=F("revision") + 1
            )
            if not claimed:
                continue
            # The row is ours until commit (the update locked it): its amounts stand.
            figures = Invoice.objects.filter(pk=invoice.pk).values(*INVOICE_FIELDS).get()
            ledger.book(
                invoice.customer_id,
                invoice.currency,
                before=contribution(**{**figures, "status": Invoice.Status.UNPAID}),
                after=contribution(**figures),
            )
            InvoiceEvent.record(
                invoice,
                InvoiceEvent.Kind.MARKED_OVERDUE,
                at=now,
                due_date=invoice.due_date.isoformat(),
            )
            if invoice.pdf:
                jobs.after_commit(jobs.RENDER_PDF, invoice.pk)
        flagged.append(invoice.pk)
    return flagged
