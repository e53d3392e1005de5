"""Background work on invoices. Thin: each task loads ids and calls a service, which is
idempotent, so a retry or a second delivery of the same task changes nothing. Services enqueue
these by name through billing/jobs.py; the periodic ones run from portal/celery.py.

Email tasks do not retry themselves: a failed send is recorded, and the sweeps try it again
every 10 minutes until it goes out or is left to staff (accounts/jobs.py)."""

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.models import UndeliveredMail
from billing import autopay, delivery, invoicing, jobs, services, webhooks
from billing.models import ChargeAttempt, CheckoutSession, Invoice
from billing.pdf import PdfRenderError
from usage.aggregation import aggregate_usage

# A worker holds a retry's message unacknowledged until its countdown is over: the longest
# countdown is part of Redis' visibility timeout (portal/settings.py).
RETRY = {
    "retry_backoff": 30,
    "retry_backoff_max": settings.RETRY_COUNTDOWN_MAX,
    "retry_jitter": True,
    "max_retries": 6,
}


def _invoice(invoice_id: int) -> Invoice:
    return Invoice.objects.select_related("customer").get(pk=invoice_id)


@shared_task(autoretry_for=(PdfRenderError,), **RETRY)
def render_invoice_pdf(invoice_id: int, force: bool = False) -> None:
    delivery.store_invoice_pdf(invoice=_invoice(invoice_id), force=force)


@shared_task
def send_invoice_email(invoice_id: int) -> list[str]:
    return delivery.email_invoice(invoice=_invoice(invoice_id))


@shared_task
def send_overdue_reminder(invoice_id: int) -> list[str]:
    return delivery.email_overdue_reminder(invoice=_invoice(invoice_id))


@shared_task
def send_payment_receipt(checkout_id: int) -> list[str]:
    checkout = CheckoutSession.objects.select_related("customer").get(pk=checkout_id)
    return delivery.email_payment_receipt(checkout=checkout)


@shared_task
def flag_overdue_invoices() -> int:
    """Flag unpaid invoices past due in their customer's time zone, then queue a reminder for
    every overdue invoice that has none yet: those flagged now, those reopened overdue by a
    refund, and those whose reminder a dead worker, a failed send or a missing address held
    back (not those that failed too often: staff retry them)."""
    flagged = services.flag_overdue_invoices(now=timezone.now())
    awaiting = jobs.still_trying(
        Invoice.objects.filter(status=Invoice.Status.OVERDUE, reminder_sent_at=None),
        UndeliveredMail.Kind.REMINDER,
    )
    jobs.queue_each(send_overdue_reminder, awaiting.values_list("pk", flat=True))
    return len(flagged)


@shared_task
def issue_monthly_invoices() -> int:
    """Count the newest usage records, then issue last month's invoice to every customer whose
    1st of the month has begun in their time zone, once the month's UTC days are over. Each
    customer and month is invoiced once, however often this runs."""
    aggregate_usage()
    return len(invoicing.issue_due_invoices(now=timezone.now()))


@shared_task
def render_stale_pdfs() -> int:
    """Render every PDF whose task was lost: a stored one older than its invoice, and the
    first one of an invoice issued for delivery (the broker was down when it was finalized).
    Invoices imported without delivery get theirs on their first download."""
    stale = Invoice.objects.exclude(pdf="").exclude(pdf_revision=F("revision"))
    before = timezone.now() - jobs.SWEEP_GRACE
    missing = Invoice.objects.filter(pdf="", deliver=True, finalized_at__lt=before)
    return jobs.queue_each(render_invoice_pdf, (stale | missing).values_list("pk", flat=True))


@shared_task
def send_unsent_emails() -> int:
    """Queue every invoice email and payment receipt not sent yet: its task never ran (the
    broker was down when its transaction committed, or the task was lost) or its send failed;
    not a receipt the customer had switched off, nor one that failed too often. Sending is
    claimed, so a task that is merely late does not send twice."""
    before = timezone.now() - jobs.SWEEP_GRACE
    invoices = jobs.still_trying(
        Invoice.objects.filter(deliver=True, emailed_at=None, finalized_at__lt=before),
        UndeliveredMail.Kind.INVOICE,
    )
    queued = jobs.queue_each(send_invoice_email, invoices.values_list("pk", flat=True))
    receipts = jobs.still_trying(
        CheckoutSession.objects.filter(
            status=CheckoutSession.Status.PAID,
            receipt_wanted=True,
            receipt_sent_at=None,
            settled_at__lt=before,
        ),
        UndeliveredMail.Kind.RECEIPT,
    )
    return queued + jobs.queue_each(send_payment_receipt, receipts.values_list("pk", flat=True))


@shared_task
def retry_deferred_refunds() -> int:
    """Book refunds that arrived before their payment, once the payment is recorded."""
    return webhooks.retry_deferred_refunds()


@shared_task
def charge_on_issue(invoice_id: int) -> None:
    """Charge a newly issued invoice of an auto-pay customer to its saved method, once."""
    autopay.charge_on_issue(invoice_id=invoice_id)


@shared_task
def retry_automatic_payments() -> int:
    """Run the dunning retries whose day has come; each is claimed, so running twice is safe."""
    return autopay.run_due_attempts(now=timezone.now())


@shared_task
def send_charge_failed(attempt_id: int) -> list[str]:
    attempt = ChargeAttempt.objects.select_related("invoice__customer").get(pk=attempt_id)
    return delivery.email_charge_failed(attempt=attempt)


@shared_task
def warn_expiring_cards() -> int:
    """One email per saved card that expires within a month (claimed per card)."""
    return autopay.warn_expiring_cards(today=services.utc_today())
