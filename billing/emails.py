"""The emails about invoices: built here, sent by services (which record who got them)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import Invoice


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _message(*, template: str, subject: str, to: list[str], context: dict):
    context = {"seller": settings.SELLER, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"billing/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        reply_to=[settings.SELLER["email"]],
    )
    message.attach_alternative(
        render_to_string(f"billing/email/{template}.html", context), "text/html"
    )
    return message


def invoice_issued(invoice: Invoice, to: list[str], pdf: bytes) -> EmailMultiAlternatives:
    document = "Credit note" if invoice.is_credit_note else "Invoice"
    message = _message(
        template="invoice_issued",
        subject=f"{document} {invoice.number} from {settings.SELLER['name']}",
        to=to,
        context=_invoice_context(invoice),
    )
    message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return message


def overdue_reminder(invoice: Invoice, to: list[str]) -> EmailMultiAlternatives:
    return _message(
        template="overdue_reminder",
        subject=f"Reminder: invoice {invoice.number} is overdue",
        to=to,
        context=_invoice_context(invoice),
    )


def payment_receipt(checkout, payments, to: list[str]) -> EmailMultiAlternatives:
    return _message(
        template="payment_receipt",
        subject=f"Payment received: {checkout.amount_total} {checkout.currency}, thank you",
        to=to,
        context={
            "checkout": checkout,
            "customer": checkout.customer,
            "payments": payments,
            "invoices_url": _absolute(reverse("invoice_list")),
        },
    )


def _invoice_context(invoice: Invoice) -> dict:
    return {
        "invoice": invoice,
        "customer": invoice.customer,
        "invoice_url": _absolute(reverse("invoice_detail", args=[invoice.number])),
    }
