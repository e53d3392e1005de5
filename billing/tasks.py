"""Background work on invoices. Thin: each task loads ids and calls a service, which is
idempotent, so a retry or a second delivery of the same task changes nothing. Services enqueue
these by name through billing/jobs.py; the periodic ones run from portal/celery.py."""

import datetime
from smtplib import SMTPException

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from billing import delivery, invoicing, services, webhooks
from billing.models import CheckoutSession, Invoice
from billing.pdf import PdfRenderError
from usage.aggregation import aggregate_usage

RETRY = {"retry_backoff": 30, "retry_backoff_max": 1800, "retry_jitter": True, "max_retries": 6}


def _invoice(invoice_id: int) -> Invoice:
    return Invoice.objects.select_related("customer").get(pk=invoice_id)


@shared_task(autoretry_for=(PdfRenderError,), **RETRY)
def render_invoice_pdf(invoice_id: int, force: bool = False) -> None:
    delivery.store_invoice_pdf(invoice=_invoice(invoice_id), force=force)


@shared_task(autoretry_for=(PdfRenderError, SMTPException, ConnectionError), **RETRY)
def send_invoice_email(invoice_id: int) -> list[str]:
    return delivery.email_invoice(invoice=_invoice(invoice_id))


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_overdue_reminder(invoice_id: int) -> list[str]:
    return delivery.email_overdue_reminder(invoice=_invoice(invoice_id))


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_payment_receipt(checkout_id: int) -> list[str]:
    checkout = CheckoutSession.objects.select_related("customer").get(pk=checkout_id)
    return delivery.email_payment_receipt(checkout=checkout)


@shared_task
def flag_overdue_invoices() -> int:
    """Flag unpaid invoices past due in their customer's time zone, then queue a reminder for
    every overdue invoice that has none yet: those flagged now, those reopened overdue by a
    refund, and those whose reminder a dead worker or a missing address held back."""
    flagged = services.flag_overdue_invoices(now=timezone.now())
    awaiting = Invoice.objects.filter(status=Invoice.Status.OVERDUE, reminder_sent_at=None)
    for invoice_id in awaiting.values_list("pk", flat=True):
        send_overdue_reminder.delay(invoice_id)
    return len(flagged)


@shared_task
def issue_monthly_invoices() -> int:
    """Count the newest usage records, then issue last month's invoice to every customer whose
    1st of the month has begun in their time zone, once the month's UTC days are over. Each
    customer and month is invoiced once, however often this runs."""
    aggregate_usage()
    return len(invoicing.issue_due_invoices(now=timezone.now()))


# Work younger than this is still in the hands of the task enqueued when it committed.
SWEEP_GRACE = datetime.timedelta(minutes=10)


@shared_task
def render_stale_pdfs() -> int:
    """Render every PDF whose task was lost: a stored one older than its invoice, and the
    first one of an invoice issued for delivery (the broker was down when it was finalized).
    Invoices imported without delivery get theirs on their first download."""
    stale = Invoice.objects.exclude(pdf="").exclude(pdf_revision=F("revision"))
    before = timezone.now() - SWEEP_GRACE
    missing = Invoice.objects.filter(pdf="", deliver=True, finalized_at__lt=before)
    ids = list((stale | missing).values_list("pk", flat=True))
    for invoice_id in ids:
        render_invoice_pdf.delay(invoice_id)
    return len(ids)


@shared_task
def send_unsent_emails() -> int:
    """Queue every invoice email and payment receipt whose task never ran (the broker was down
    when its transaction committed, or the task was lost); not a receipt the customer had
    switched off. Sending is claimed, so a task that is merely late does not send twice."""
    before = timezone.now() - SWEEP_GRACE
    invoices = Invoice.objects.filter(deliver=True, emailed_at=None, finalized_at__lt=before)
    invoice_ids = list(invoices.values_list("pk", flat=True))
    for invoice_id in invoice_ids:
        send_invoice_email.delay(invoice_id)
    receipts = CheckoutSession.objects.filter(
        status=CheckoutSession.Status.PAID,
        receipt_wanted=True,
        receipt_sent_at=None,
        settled_at__lt=before,
    )
    checkout_ids = list(receipts.values_list("pk", flat=True))
    for checkout_id in checkout_ids:
        send_payment_receipt.delay(checkout_id)
    return len(invoice_ids) + len(checkout_ids)


@shared_task
def retry_deferred_refunds() -> int:
    """Book refunds that arrived before their payment, once the payment is recorded."""
    return webhooks.retry_deferred_refunds()
