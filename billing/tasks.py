"""Background work on invoices. Thin: each task loads ids and calls a service, which is
idempotent, so a retry or a second delivery of the same task changes nothing."""

from smtplib import SMTPException

from celery import shared_task

from billing import payments, services
from billing.models import CheckoutSession, Invoice
from billing.pdf import PdfRenderError

RETRY = {"retry_backoff": 30, "retry_backoff_max": 1800, "retry_jitter": True, "max_retries": 6}


def _invoice(invoice_id: int) -> Invoice:
    return Invoice.objects.select_related("customer").get(pk=invoice_id)


@shared_task(autoretry_for=(PdfRenderError,), **RETRY)
def render_invoice_pdf(invoice_id: int, force: bool = False) -> None:
    services.store_invoice_pdf(invoice=_invoice(invoice_id), force=force)


@shared_task(autoretry_for=(PdfRenderError, SMTPException, ConnectionError), **RETRY)
def send_invoice_email(invoice_id: int) -> list[str]:
    return services.email_invoice(invoice=_invoice(invoice_id))


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_overdue_reminder(invoice_id: int) -> list[str]:
    return services.email_overdue_reminder(invoice=_invoice(invoice_id))


@shared_task
def flag_overdue_invoices() -> int:
    """Daily: flag unpaid invoices past due and queue one reminder for each newly flagged."""
    flagged = services.flag_overdue_invoices(today=services.utc_today())
    for invoice_id in flagged:
        send_overdue_reminder.delay(invoice_id)
    return len(flagged)


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_payment_receipt(checkout_id: int) -> list[str]:
    checkout = CheckoutSession.objects.select_related("customer").get(pk=checkout_id)
    return payments.email_payment_receipt(checkout=checkout)
