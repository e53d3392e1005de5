"""InvoiceSummary: per customer and currency, what the Invoices page's cards and tabs and the
Usage page's Billing Status show, kept up to date by the ledger (billing/ledger.py `book`) in
the same transaction as every change of an invoice's status or amounts. A page reads a row
per currency the customer was billed in (amounts are never summed across currencies), however
many invoices the customer has.

Each issued invoice or credit note adds its `contribution` to the row of its customer and
currency; a draft adds nothing. `recount` makes the rows again from the invoices themselves
(the data migration, and for invoices written in bulk, e.g. by the benchmarks).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Count, Sum

from accounts.models import Customer
from billing.models.invoices import Invoice
from billing.models.sizes import MONEY

COUNT_FIELDS = {
    Invoice.Status.UNPAID: "invoices_unpaid",
    Invoice.Status.OVERDUE: "invoices_overdue",
    Invoice.Status.PAID: "invoices_paid",
    Invoice.Status.CREDITED: "invoices_credited",
    Invoice.Status.VOID: "invoices_void",
}
OWED_FIELDS = {Invoice.Status.UNPAID: "owed_unpaid", Invoice.Status.OVERDUE: "owed_overdue"}
COUNTS = (*COUNT_FIELDS.values(), "credit_notes")
# What a contribution reads of an invoice.
INVOICE_FIELDS = ("kind", "status", "total", "amount_paid", "amount_credited", "credit_applied")


class InvoiceSummary(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    invoices_unpaid = models.PositiveIntegerField(default=0)
    invoices_overdue = models.PositiveIntegerField(default=0)
    invoices_paid = models.PositiveIntegerField(default=0)
    invoices_credited = models.PositiveIntegerField(default=0)
    invoices_void = models.PositiveIntegerField(default=0)
    credit_notes = models.PositiveIntegerField(default=0)
    owed_unpaid = models.DecimalField(
        **MONEY, default=Decimal("0.00"), help_text="Total less what covers it, unpaid invoices."
    )
    owed_overdue = models.DecimalField(
        **MONEY, default=Decimal("0.00"), help_text="The same, over the overdue invoices."
    )
    settled_total = models.DecimalField(
        **MONEY, default=Decimal("0.00"), help_text="The totals of paid and credited invoices."
    )
    received = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        help_text="Payments less refunds, and credit applied, over every issued invoice.",
    )

    class Meta:
        verbose_name_plural = "invoice summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "currency"], name="one_summary_per_customer_and_currency"
            )
        ]

    def __str__(self):
        return f"Invoices of {self.customer_id} in {self.currency}"

    def add(self, delta: dict) -> None:
        """Add a difference of contributions (the caller has the row locked, and saves)."""
        for name, value in delta.items():
            setattr(self, name, getattr(self, name) + value)


def contribution(*, kind, status, total, amount_paid, amount_credited, credit_applied) -> dict:
    """What one invoice adds to its customer's summary (names the fields of InvoiceSummary)."""
    if status == Invoice.Status.DRAFT:
        return {}
    figures = {"received": amount_paid + credit_applied}
    if kind == Invoice.Kind.CREDIT_NOTE:
        figures["credit_notes"] = 1
        return figures
    figures[COUNT_FIELDS[status]] = 1
    if status in OWED_FIELDS:
        figures[OWED_FIELDS[status]] = total - amount_paid - amount_credited - credit_applied
    if status in Invoice.SETTLED_STATUSES:
        figures["settled_total"] = total
    return figures


def invoice_contribution(invoice: Invoice) -> dict:
    return contribution(**{name: getattr(invoice, name) for name in INVOICE_FIELDS})


def difference(before: dict, after: dict) -> dict:
    """after - before, leaving out what did not change."""
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in {*before, *after}}
    return {name: value for name, value in delta.items() if value}


def recount(invoice_model, summary_model, customer_ids=None) -> None:
    """Write the summary rows of these customers (every customer with an invoice when None)
    again from their invoices: one GROUP BY, added up in Decimal. Takes the models as
    arguments, so that the data migration that first filled the table runs it on its
    historical models."""
    invoices = invoice_model.objects.exclude(status=Invoice.Status.DRAFT)
    stale = summary_model.objects.all()
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=customer_ids)
        stale = stale.filter(customer_id__in=customer_ids)
    groups = (
        invoices.values("customer_id", "currency", "kind", "status")
        .annotate(
            count=Count("pk"),
            total=Sum("total"),
            amount_paid=Sum("amount_paid"),
            amount_credited=Sum("amount_credited"),
            credit_applied=Sum("credit_applied"),
        )
        .order_by()
    )
    totals: dict[tuple[int, str], dict] = {}
    for group in groups:
        count = group.pop("count")
        figures = contribution(**{name: group[name] for name in INVOICE_FIELDS})
        # A contribution counts one invoice; the group's sums are right, its counts are `count`.
        for name in COUNTS:
            if name in figures:
                figures[name] = count
        summed = totals.setdefault((group["customer_id"], group["currency"]), {})
        for name, value in figures.items():
            summed[name] = summed.get(name, 0) + value
    stale.delete()
    summary_model.objects.bulk_create(
        summary_model(customer_id=customer_id, currency=currency, **figures)
        for (customer_id, currency), figures in totals.items()
    )
