"""The invoice's timeline: what happened to it, when, and who did it."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.models.invoices import Invoice


class InvoiceEvent(models.Model):
    """The invoice's timeline and audit trail: what happened, when, and who did it."""

    class Kind(models.TextChoices):
        FINALIZED = "finalized", "Issued"
        PDF_RENDERED = "pdf_rendered", "PDF created"
        EMAILED = "emailed", "Emailed"
        NOT_EMAILED = "not_emailed", "Not emailed"
        MARKED_OVERDUE = "marked_overdue", "Marked overdue"
        REMINDER_SENT = "reminder_sent", "Reminder sent"
        CHECKOUT_STARTED = "checkout_started", "Online payment started"
        PAYMENT_PROCESSING = "payment_processing", "Payment processing"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        PAYMENT_MISMATCH = "payment_mismatch", "Payment needs review"
        REFUNDED = "refunded", "Refunded"
        CREDITED = "credited", "Credit note issued"
        CREDIT_APPLIED = "credit_applied", "Credit applied"
        MOVED_TO_CREDIT = "moved_to_credit", "Moved to credit"
        PAID = "paid", "Paid"
        SETTLED = "settled", "Settled"
        REOPENED = "reopened", "Owed again"
        VOIDED = "voided", "Voided"

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
