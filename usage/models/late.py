"""Late usage: what the aggregation counts for a month after that month was invoiced.

Invoicing closes a customer's month (ClosedMonth) in the transaction that issues its invoice,
while it holds the aggregation's cursor: every record counted before is on that invoice, every
record counted after is late. The aggregation counts a late record into the daily rollup as
any other (the Usage page shows the month's whole usage) and also into LateUsage, which
billing puts on the customer's next monthly invoice, each row once.
"""

from django.db import models
from django.utils import timezone

from accounts.models import Customer
from usage.models import QUANTITY, Metric


class ClosedMonth(models.Model):
    """A customer's month whose usage is invoiced."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The 1st of the month (UTC).")
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["customer", "month"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="one_closed_month"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.month:%Y-%m} closed"


class LateUsage(models.Model):
    """Late usage of one service, metric and UTC day, as one aggregation batch counted it.
    Rows are never changed: a later batch adds a row of its own."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("usage.Service", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=16, choices=Metric)
    day = models.DateField()
    quantity = models.DecimalField(**QUANTITY)
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "late usage"
        ordering = ["customer", "day", "service", "metric"]
        indexes = [models.Index(fields=["customer", "day"], name="late_usage_by_day")]

    def __str__(self):
        return f"late {self.day} {self.service_id} {self.metric}: {self.quantity}"
