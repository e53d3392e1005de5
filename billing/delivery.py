"""What reaches the customer: stored invoice PDFs (one by one or in a ZIP), and the emails about
invoices and payments.

A stored PDF always says which revision of its invoice it shows (Invoice.revision counts every
change of status or amounts). A stale or missing one is rendered again, outside any transaction
(a fifth of a second a page), then swapped in with one conditional UPDATE: if the invoice moved
on meanwhile, or another worker stored the same revision first, the new file is dropped.

Each email is sent once: its timestamp field is claimed with a conditional UPDATE in the same
transaction as the send, so a retry after a mail server error sends it again and a second
worker sends nothing; a failed send is recorded for the sweeps and staff (accounts/jobs.py).
"""

import logging
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import UndeliveredMail
from accounts.selectors import billing_emails
from billing import emails, jobs
from billing.exceptions import BillingError
from billing.models import (
    BillingProfile,
    ChargeAttempt,
    CheckoutSession,
    Invoice,
    InvoiceEvent,
    Payment,
    PaymentMethod,
)
from billing.models.invoices import invoice_pdf_path
from billing.pdf import PdfRenderError, render_invoice_pdf

log = logging.getLogger(__name__)

# A PDF that is stale again by the time it is stored (the invoice keeps changing) is rendered
# at most this many times in one call; the render after the next change catches up.
MAX_RENDERS = 3


def has_current_pdf(invoice: Invoice) -> bool:
    """A stored PDF of the invoice's current revision exists."""
    return (
        bool(invoice.pdf)
        and invoice.pdf_revision == invoice.revision
        and invoice.pdf.storage.exists(invoice.pdf.name)
    )


def store_invoice_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """The invoice, re-read, with a stored PDF of its current revision: the stored one, or a new
    one rendered now. `force` renders again even if the stored one is current (staff, after a
    template change). Drafts are never stored: they are previewed (`render_invoice_pdf`)."""
    if invoice.status == Invoice.Status.DRAFT:
        raise BillingError("A draft has no stored PDF; preview it instead.")
    for _ in range(MAX_RENDERS):
        invoice = Invoice.objects.select_related("customer").get(pk=invoice.pk)
        if has_current_pdf(invoice) and not force:
            return invoice
        _render_and_swap(invoice)
        force = False
    return Invoice.objects.select_related("customer").get(pk=invoice.pk)


def _render_and_swap(invoice: Invoice) -> None:
    """Render the invoice as read, and store it in place of the PDF it had then: only if the
    invoice is still at that revision with that PDF (compare and swap), else drop the file."""
    revision, previous = invoice.revision, invoice.pdf.name
    data = render_invoice_pdf(invoice)
    storage = invoice.pdf.storage
    name = storage.save(
        invoice_pdf_path(invoice, f"{invoice.number}-r{revision}.pdf"), ContentFile(data)
    )
    with transaction.atomic():
        swapped = Invoice.objects.filter(pk=invoice.pk, revision=revision, pdf=previous).update(
            pdf=name, pdf_revision=revision, pdf_rendered_at=timezone.now()
        )
        if swapped:
            InvoiceEvent.record(invoice, InvoiceEvent.Kind.PDF_RENDERED, updated=bool(previous))
    if not swapped:
        storage.delete(name)
    elif previous and previous != name:  # the same name when the stored file had gone missing
        # Someone may be reading the old file right now: an open file survives its deletion.
        storage.delete(previous)


@dataclass
class InvoiceArchive:
    """The selected invoices' PDFs as one ZIP in a temporary file, positioned at its start; or,
    when not every PDF could be had in time, no file and the invoices still being prepared."""

    file: IO[bytes] | None
    preparing: list[Invoice]


# A ZIP this small stays in memory; a larger one goes to a temporary file on disk.
ZIP_SPOOL_BYTES = 1024 * 1024


def zip_invoice_pdfs(*, invoices: list[Invoice]) -> InvoiceArchive:
    """The stored PDFs of `invoices` in one ZIP. Missing or stale ones are rendered first while
    the time budget lasts (settings.INVOICE_ZIP_RENDER_SECONDS, checked before each render);
    those left over, or whose render failed, are queued for a worker and no ZIP is made: the
    customer asks again in a minute. The ZIP is written to a temporary file one PDF at a time,
    so memory stays flat whatever the number of invoices."""
    deadline = time.monotonic() + settings.INVOICE_ZIP_RENDER_SECONDS
    ready, preparing = [], []
    for invoice in invoices:
        if has_current_pdf(invoice):
            ready.append(invoice)
        elif time.monotonic() < deadline:
            try:
                ready.append(store_invoice_pdf(invoice=invoice))
            except PdfRenderError:
                log.exception("Rendering %s for a ZIP failed; queued for a retry.", invoice)
                preparing.append(invoice)
        else:
            preparing.append(invoice)
    for invoice in preparing:
        jobs.after_commit(jobs.RENDER_PDF, invoice.pk)
    if preparing:
        return InvoiceArchive(file=None, preparing=preparing)
    # Not closed here: the caller streams it, and the response closes it once sent.
    file = tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_BYTES)  # noqa: SIM115
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice in ready:
            # Dated as the invoice, not 1 January 1980 (what a bare name gets).
            name = zipfile.ZipInfo(f"{invoice.number}.pdf", invoice.issue_date.timetuple()[:6])
            name.compress_type = zipfile.ZIP_DEFLATED
            with invoice.pdf.open("rb") as pdf, archive.open(name, "w") as entry:
                shutil.copyfileobj(pdf, entry)
    file.seek(0)
    return InvoiceArchive(file=file, preparing=[])


def _no_recipients(invoice: Invoice, mail: str, actor=None) -> list[str]:
    """Nobody to send to: flag the invoice for staff (once) and leave the email unsent, so
    that a later run sends it once the customer has a Billing address."""
    flagged = Invoice.objects.filter(pk=invoice.pk, undelivered_at=None).update(
        undelivered_at=timezone.now()
    )
    if flagged:
        InvoiceEvent.record(
            invoice,
            InvoiceEvent.Kind.NOT_EMAILED,
            actor=actor,
            mail=mail,
        )
    return []


def email_invoice(*, invoice: Invoice, resend: bool = False, actor=None) -> list[str]:
    """Email the invoice to the customer's Billing contacts, with its PDF attached or, if the
    customer chose "a link to the portal only", with the link alone; returns who got it.

    Sent once after finalizing (claimed through `emailed_at`); staff may resend.
    """
    recipients = billing_emails(invoice.customer)
    if not recipients:
        return _no_recipients(invoice, "invoice", actor)
    attach = invoice.customer.billing_profile.invoice_delivery == BillingProfile.Delivery.ATTACHMENT
    if attach:
        invoice = store_invoice_pdf(invoice=invoice)
    claim = Invoice.objects.filter(pk=invoice.pk)
    if not resend:
        claim = claim.filter(emailed_at=None)

    def send():
        if attach:
            with invoice.pdf.open("rb") as pdf:
                emails.invoice_issued(invoice, recipients, pdf=pdf.read()).send()
        else:
            emails.invoice_issued(invoice, recipients, pdf=None).send()
        _delivered(invoice, InvoiceEvent.Kind.EMAILED, recipients, actor)

    mail = _invoice_mail(UndeliveredMail.Kind.INVOICE, invoice, recipients)
    sent = jobs.send_once(claim, "emailed_at", send, mail, by_hand=resend)
    return recipients if sent else []


def email_overdue_reminder(*, invoice: Invoice) -> list[str]:
    """One reminder per overdue invoice to the Billing contacts (claimed via reminder_sent_at)."""
    recipients = billing_emails(invoice.customer)
    if not recipients:
        return _no_recipients(invoice, "reminder")
    claim = Invoice.objects.filter(
        pk=invoice.pk, status=Invoice.Status.OVERDUE, reminder_sent_at=None
    )

    def send():
        emails.overdue_reminder(invoice, recipients).send()
        _delivered(invoice, InvoiceEvent.Kind.REMINDER_SENT, recipients)

    mail = _invoice_mail(UndeliveredMail.Kind.REMINDER, invoice, recipients)
    return recipients if jobs.send_once(claim, "reminder_sent_at", send, mail) else []


def _invoice_mail(kind: UndeliveredMail.Kind, invoice: Invoice, recipients) -> jobs.Mail:
    return jobs.Mail(
        kind=kind,
        object_id=invoice.pk,
        subject=str(invoice),
        recipients=recipients,
        customer_id=invoice.customer_id,
    )


def _delivered(invoice: Invoice, kind: str, recipients: list[str], actor=None) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(undelivered_at=None)
    InvoiceEvent.record(invoice, kind, actor=actor, recipients=list(recipients))


def email_payment_receipt(*, checkout: CheckoutSession) -> list[str]:
    """Thank the Billing contacts for a card payment, once (claimed through receipt_sent_at),
    unless the customer had switched receipts off when it arrived (`receipt_wanted`)."""
    recipients = billing_emails(checkout.customer)
    if not recipients:
        return []
    claim = CheckoutSession.objects.filter(
        pk=checkout.pk,
        status=CheckoutSession.Status.PAID,
        receipt_wanted=True,
        receipt_sent_at=None,
    )
    payments = list(checkout.payments.filter(kind=Payment.Kind.PAYMENT).select_related("invoice"))

    def send():
        emails.payment_receipt(checkout, payments, recipients).send()

    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.RECEIPT,
        object_id=checkout.pk,
        subject=", ".join(str(payment.invoice) for payment in payments),
        recipients=recipients,
        customer_id=checkout.customer_id,
    )
    return recipients if jobs.send_once(claim, "receipt_sent_at", send, mail) else []


def email_charge_failed(*, attempt: ChargeAttempt) -> list[str]:
    """Tell the Billing contacts, once per attempt (claimed through notified_at), that an
    automatic payment failed: why, when it is tried next (if it is), and how to pay now."""
    invoice = attempt.invoice
    recipients = billing_emails(invoice.customer)
    if not recipients:
        return []
    claim = ChargeAttempt.objects.filter(pk=attempt.pk, notified_at=None)
    next_try = (
        ChargeAttempt.objects.filter(
            invoice=invoice, number=attempt.number + 1, status=ChargeAttempt.Status.SCHEDULED
        )
        .values_list("scheduled_for", flat=True)
        .first()
    )

    def send():
        emails.charge_failed(attempt, recipients, next_try=next_try).send()

    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.CHARGE_FAILED,
        object_id=attempt.pk,
        subject=str(invoice),
        recipients=recipients,
        customer_id=invoice.customer_id,
    )
    return recipients if jobs.send_once(claim, "notified_at", send, mail) else []


def email_card_expiring(*, method: PaymentMethod) -> list[str]:
    """Ask the Billing contacts, once per card (claimed through expiry_notice_sent_at), to
    replace a saved card before it expires."""
    recipients = billing_emails(method.customer)
    if not recipients:
        return []
    claim = PaymentMethod.objects.filter(pk=method.pk, expiry_notice_sent_at=None)

    def send():
        emails.card_expiring(method, recipients).send()

    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.CARD_EXPIRING,
        object_id=method.pk,
        subject=method.label,
        recipients=recipients,
        customer_id=method.customer_id,
    )
    return recipients if jobs.send_once(claim, "expiry_notice_sent_at", send, mail) else []
