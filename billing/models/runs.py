"""What the monthly invoicing run could not do (a customer's month left without an invoice),
and the late usage its invoices billed."""

from django.db import models
from django.utils import timezone

from accounts.models import Customer
from billing.models.lines import InvoiceLine
from usage.models import LateUsage


class UninvoicedMonth(models.Model):
    """A customer's month of usage that a run could not invoice, and why: shown to staff under
    "needs attention" until a later run invoices it (the hourly run retries last month, the
    command any month)."""

    class Reason(models.TextChoices):
        NO_PRICE = "no_price", "Usage without a price"
        HELD = "held", "Usage held back, not counted"
        NO_PLAN_IN_CURRENCY = "plan_currency", "No price plan in the customer's currency"
        FAILED = "failed", "Invoicing failed"

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="uninvoiced_months"
    )
    usage_month = models.DateField(help_text="The 1st of the month of usage.")
    reason = models.CharField(max_length=16, choices=Reason)
    detail = models.CharField(max_length=1000)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When a later run invoiced the month."
    )

    class Meta:
        ordering = ["-usage_month", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "usage_month"], name="one_uninvoiced_record_per_month"
            )
        ]

    def __str__(self):
        return f"{self.customer.number} {self.usage_month:%Y-%m}: {self.get_reason_display()}"


class BilledLateUsage(models.Model):
    """Late usage (usage.models.late) and the invoice line that bills it. Its primary key is
    the late usage row: each is billed once, whatever the retries and however many runs."""

    late_usage = models.OneToOneField(
        LateUsage, on_delete=models.PROTECT, primary_key=True, related_name="billed"
    )
    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="late_usage")

    class Meta:
        verbose_name_plural = "billed late usage"

    def __str__(self):
        return f"{self.late_usage} on {self.line}"
