"""The invoice's timeline: what happened to it, when, and who did it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.invoices import Invoice


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

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.invoice}: {self.get_kind_display()}"

    @classmethod
    def record(cls, invoice, kind: str, message: str = "", actor=None, at=None) -> "InvoiceEvent":
        return cls.objects.create(
            invoice=invoice,
            kind=kind,
            message=message,
            actor=actor,
            created_at=at or timezone.now(),
        )
