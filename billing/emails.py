"""The emails about invoices: built here, sent by services (which record who got them).

Each is written in the customer's `invoice_language`, amounts and dates included."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from billing.models import ChargeAttempt, Invoice, InvoiceEvent, PaymentMethod
from billing.selectors import invoice_balance
from core.money import ZERO, format_money


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


def invoice_issued(invoice: Invoice, to: list[str], *, pdf: bytes | None) -> EmailMultiAlternatives:
    """The invoice or credit note, with its PDF attached; without `pdf` (the customer chose a
    link to the portal only) the email says where to find it."""
    with translation.override(invoice.customer.billing_profile.invoice_language):
        if invoice.is_credit_note:
            subject = gettext("Credit note %(number)s from %(seller)s")
        else:
            subject = gettext("Invoice %(number)s from %(seller)s")
        message = _message(
            template="invoice_issued",
            subject=subject % {"number": invoice.number, "seller": settings.SELLER["name"]},
            to=to,
            context=_invoice_context(invoice) | {"attached": pdf is not None},
        )
    if pdf is not None:
        message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return message


def overdue_reminder(invoice: Invoice, to: list[str]) -> EmailMultiAlternatives:
    with translation.override(invoice.customer.billing_profile.invoice_language):
        return _message(
            template="overdue_reminder",
            subject=gettext("Reminder: invoice %(number)s is overdue") % {"number": invoice.number},
            to=to,
            context=_invoice_context(invoice),
        )


def payment_receipt(checkout, payments, to: list[str]) -> EmailMultiAlternatives:
    """`payments`: what the checkout paid on each invoice; the rest of it became credit."""
    language = checkout.customer.billing_profile.invoice_language
    with translation.override(language):
        amount = format_money(checkout.amount_total, checkout.currency, language=language)
        return _message(
            template="payment_receipt",
            subject=gettext("Payment received: %(amount)s, thank you") % {"amount": amount},
            to=to,
            context={
                "checkout": checkout,
                "customer": checkout.customer,
                "paid": [(payment, invoice_balance(payment.invoice)) for payment in payments],
                "credit_kept": checkout.amount_total - sum((p.amount for p in payments), ZERO),
                "invoices_url": _absolute(reverse("invoice_list")),
            },
        )


def charge_failed(
    attempt: ChargeAttempt, to: list[str], *, next_try=None
) -> EmailMultiAlternatives:
    """An automatic payment failed: why, the next try (or none), and the invoice's Pay page.
    When the bank asks for the cardholder's authentication, the Pay page is where they pay
    on Stripe's hosted page."""
    invoice = attempt.invoice
    with translation.override(invoice.customer.billing_profile.invoice_language):
        context = _invoice_context(invoice) | {
            "attempt": attempt,
            "needs_action": attempt.status == ChargeAttempt.Status.NEEDS_ACTION,
            "next_try": next_try,
            "pay_url": _absolute(reverse("invoice_pay", args=[invoice.number])),
            "what_failed": _latest_failure(invoice),
        }
        if context["needs_action"]:
            subject = gettext("Invoice %(number)s: please confirm the payment with your bank")
        else:
            subject = gettext("Invoice %(number)s: the automatic payment failed")
        return _message(
            template="charge_failed",
            subject=subject % {"number": invoice.number},
            to=to,
            context=context,
        )


def _latest_failure(invoice: Invoice) -> str:
    failure = invoice.events.filter(kind=InvoiceEvent.Kind.AUTOPAY_FAILED).last()
    return failure.text if failure else ""


def card_expiring(method: PaymentMethod, to: list[str]) -> EmailMultiAlternatives:
    with translation.override(method.customer.billing_profile.invoice_language):
        return _message(
            template="card_expiring",
            subject=gettext("Your saved card %(card)s expires soon") % {"card": method.label},
            to=to,
            context={
                "method": method,
                "customer": method.customer,
                "methods_url": _absolute(reverse("payment_methods")),
            },
        )


def _invoice_context(invoice: Invoice) -> dict:
    """An invoice email states what is owed exactly as its PDF and the pay dialog do; a credit
    note's email also says what is still owed on the invoice it reduces."""
    context = {
        "invoice": invoice,
        "customer": invoice.customer,
        "balance": invoice_balance(invoice),
        "invoice_url": _absolute(reverse("invoice_detail", args=[invoice.number])),
    }
    if invoice.is_credit_note:
        context["credited_balance"] = invoice_balance(invoice.credited_invoice)
    return context
