"""The invoice's timeline: what happened to it, when, and who did it.

An entry stores what happened (its kind) and the facts of it (`params`: amounts with their
currency, numbers, dates, addresses), never a sentence: each reader gets the sentence in their
own language, amounts and dates written as their language writes them. `message` holds only
text a person typed (a void reason), or the English sentence of an entry stored before
`params` existed that could not be read back into facts: such text is shown as stored.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from billing.models.invoices import Invoice
from core.money import format_money


def _money(params: dict, amount: str = "amount", currency: str = "currency") -> str:
    return format_money(Decimal(params[amount]), params[currency], language=get_language())


def _payment(params: dict) -> str:
    amount = _money(params)
    if params.get("method") == "card":
        return gettext("Card payment of %(amount)s received through Stripe.") % {"amount": amount}
    if params.get("reference"):
        return gettext("Bank transfer of %(amount)s received (reference %(reference)s).") % {
            "amount": amount,
            "reference": params["reference"],
        }
    return gettext("Bank transfer of %(amount)s received.") % {"amount": amount}


def _not_emailed(params: dict) -> str:
    if params.get("mail") == "reminder":
        return gettext("Overdue reminder not sent: the customer has no confirmed Billing address.")
    return gettext("Invoice email not sent: the customer has no confirmed Billing address.")


def _mismatch(params: dict) -> str:
    return gettext(
        "Stripe reports %(received)s for a payment of %(expected)s: received, not applied to "
        "the invoices until staff have checked it."
    ) % {
        "received": _money(params, "received", "received_currency"),
        "expected": _money(params, "expected"),
    }


def _decline(code: str) -> str:
    reasons = {
        "insufficient_funds": gettext("insufficient funds"),
        "expired_card": gettext("the card has expired"),
        "card_declined": gettext("the card was declined"),
    }
    return reasons.get(code, gettext("the payment was declined"))


def _autopay_failed(params: dict) -> str:
    reason = _decline(params.get("code", ""))
    if params.get("next_try"):
        next_try = datetime.datetime.fromisoformat(params["next_try"])
        return gettext(
            "Automatic payment (attempt %(attempt)s) failed: %(reason)s. Next try on %(date)s."
        ) % {"attempt": params["attempt"], "reason": reason, "date": date_format(next_try.date())}
    return gettext(
        "Automatic payment (attempt %(attempt)s) failed: %(reason)s. No more automatic tries: "
        "the invoice waits for payment."
    ) % {"attempt": params["attempt"], "reason": reason}


def _autopay_stopped(params: dict) -> str:
    why = params.get("why")
    if why == "paid":
        return gettext("Automatic payments stopped: the invoice was paid by other means.")
    if why == "autopay_off":
        return gettext("Automatic payments stopped: Pay invoices automatically was turned off.")
    return gettext("Automatic payment not made: no saved payment method.")


def _sentence(kind: str, params: dict) -> str:
    """The entry's sentence in the active language, from its kind and facts."""
    Kind = InvoiceEvent.Kind
    match kind:
        case Kind.FINALIZED:
            return gettext("Issued as %(number)s.") % {"number": params["number"]}
        case Kind.PDF_RENDERED:
            return gettext("PDF updated.") if params.get("updated") else gettext("PDF created.")
        case Kind.EMAILED | Kind.REMINDER_SENT:
            return gettext("Sent to %(recipients)s.") % {
                "recipients": ", ".join(params["recipients"])
            }
        case Kind.NOT_EMAILED:
            return _not_emailed(params)
        case Kind.MARKED_OVERDUE:
            due = datetime.date.fromisoformat(params["due_date"])
            return gettext("Not paid by its due date, %(date)s.") % {"date": date_format(due)}
        case Kind.CHECKOUT_STARTED:
            return gettext("Online payment of %(amount)s started.") % {"amount": _money(params)}
        case Kind.PAYMENT_PROCESSING:
            return gettext("Payment submitted; the bank confirms it within a few days.")
        case Kind.PAYMENT_FAILED:
            return gettext("The bank declined the payment.")
        case Kind.PAYMENT_RECEIVED:
            return _payment(params)
        case Kind.PAYMENT_MISMATCH:
            return _mismatch(params)
        case Kind.REFUNDED:
            return gettext("Refund of %(amount)s to the card through Stripe.") % {
                "amount": _money(params)
            }
        case Kind.CREDITED:
            return gettext("%(number)s credits %(amount)s.") % {
                "number": params["number"],
                "amount": _money(params),
            }
        case Kind.CREDIT_APPLIED:
            return gettext("%(amount)s of your credit applied.") % {"amount": _money(params)}
        case Kind.MOVED_TO_CREDIT:
            return gettext("%(amount)s beyond what was owed is kept as your credit.") % {
                "amount": _money(params)
            }
        case Kind.PAID:
            return gettext("Paid in full.")
        case Kind.SETTLED:
            return gettext("Settled by credit notes.")
        case Kind.REOPENED:
            return gettext("%(amount)s is owed again.") % {"amount": _money(params)}
        case Kind.VOIDED:
            return gettext("Voided.")
        case Kind.AUTOPAY_STARTED:
            return gettext(
                "Automatic payment of %(amount)s from %(method)s (attempt %(attempt)s): processing."
            ) % {"amount": _money(params), "method": params["method"], "attempt": params["attempt"]}
        case Kind.AUTOPAY_FAILED:
            return _autopay_failed(params)
        case Kind.AUTOPAY_NEEDS_ACTION:
            return gettext(
                "Automatic payment needs the cardholder's authentication: a link to complete it "
                "was emailed. It is not retried."
            )
        case Kind.AUTOPAY_STOPPED:
            return _autopay_stopped(params)
    return ""


def money_params(amount: Decimal, currency: str) -> dict:
    """An amount as an entry keeps it: exact, as a string, with its currency."""
    return {"amount": str(amount), "currency": currency}


class InvoiceEvent(models.Model):
    """The invoice's timeline and audit trail: what happened, when, and who did it."""

    class Kind(models.TextChoices):
        FINALIZED = "finalized", _("Issued")
        PDF_RENDERED = "pdf_rendered", _("PDF created")
        EMAILED = "emailed", _("Emailed")
        NOT_EMAILED = "not_emailed", _("Not emailed")
        MARKED_OVERDUE = "marked_overdue", _("Marked overdue")
        REMINDER_SENT = "reminder_sent", _("Reminder sent")
        CHECKOUT_STARTED = "checkout_started", _("Online payment started")
        PAYMENT_PROCESSING = "payment_processing", _("Payment processing")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        PAYMENT_RECEIVED = "payment_received", _("Payment received")
        PAYMENT_MISMATCH = "payment_mismatch", _("Payment needs review")
        REFUNDED = "refunded", _("Refunded")
        CREDITED = "credited", _("Credit note issued")
        CREDIT_APPLIED = "credit_applied", _("Credit applied")
        MOVED_TO_CREDIT = "moved_to_credit", _("Moved to credit")
        PAID = "paid", _("Paid")
        SETTLED = "settled", _("Settled")
        REOPENED = "reopened", _("Owed again")
        VOIDED = "voided", _("Voided")
        AUTOPAY_STARTED = "autopay_started", _("Automatic payment")
        AUTOPAY_FAILED = "autopay_failed", _("Automatic payment failed")
        AUTOPAY_NEEDS_ACTION = "autopay_needs_action", _("Automatic payment needs authentication")
        AUTOPAY_STOPPED = "autopay_stopped", _("Automatic payments stopped")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text="The facts of the entry (amounts with their currency, numbers, dates), from "
        "which each reader's language writes its sentence.",
    )
    message = models.CharField(
        max_length=500,
        blank=True,
        help_text="Text as typed (a void reason), or an older entry's English text that could "
        "not be read into facts; shown as stored.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.invoice}: {self.get_kind_display()}"

    @property
    def text(self) -> str:
        """What happened, in the active language ("3 december 2026", "50,00 €"); typed or
        unreadable older text as stored."""
        return self.message or _sentence(self.kind, self.params)

    @classmethod
    def record(
        cls, invoice, kind: str, *, actor=None, at=None, message: str = "", **params
    ) -> "InvoiceEvent":
        """Add an entry; `params` are its facts (JSON: amounts as strings), `message` only
        text a person typed."""
        return cls.objects.create(
            invoice=invoice,
            kind=kind,
            params=params,
            message=message,
            actor=actor,
            created_at=at or timezone.now(),
        )
