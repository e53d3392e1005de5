"""Customer-scoped reads for the invoice pages. Every query here starts from a customer."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404

from accounts.models import Customer
from billing.models import Invoice
from billing.money import ZERO, round_money

STATUS_FILTERS = {"all": "All", "unpaid": "Unpaid", "paid": "Paid"}


def invoices_for(customer: Customer, *, status: str = "all", search: str = ""):
    """The customer's issued invoices and credit notes, newest first."""
    invoices = Invoice.objects.for_customer(customer).issued()
    if status == "unpaid":
        invoices = invoices.unpaid()
    elif status == "paid":
        invoices = invoices.paid()
    if search:
        invoices = invoices.filter(number__icontains=search.strip())
    return invoices


def invoice_for(customer: Customer, number: str) -> Invoice:
    """One of the customer's issued invoices by number; 404 for anyone else's."""
    return get_object_or_404(Invoice.objects.for_customer(customer).issued(), number=number)


@dataclass(frozen=True)
class InvoiceStats:
    outstanding: Decimal
    total_paid: Decimal
    overdue: int
    total: int
    unpaid: int
    paid: int

    @property
    def tab_counts(self) -> dict[str, int]:
        return {"all": self.total, "unpaid": self.unpaid, "paid": self.paid}


def invoice_stats(customer: Customer) -> InvoiceStats:
    """The four cards and the tab counts, from one GROUP BY status that the covering index
    `invoice_customer_money` can answer without reading the table.

    An open invoice always owes the rest of its total (payments and credits that cover it
    settle it), so its outstanding amount is total - paid - credited, summed per status.
    """
    rows = (
        Invoice.objects.for_customer(customer)
        .issued()
        .values("status")
        .annotate(
            count=Count("status"),
            total=Sum("total"),
            paid=Sum("amount_paid"),
            credited=Sum("amount_credited"),
        )
        .order_by()
    )
    by_status = {row["status"]: row for row in rows}
    open_rows = [by_status[s] for s in Invoice.OPEN_STATUSES if s in by_status]
    return InvoiceStats(
        outstanding=round_money(
            sum((r["total"] - r["paid"] - r["credited"] for r in open_rows), ZERO)
        ),
        total_paid=round_money(sum((r["paid"] for r in by_status.values()), ZERO)),
        overdue=by_status.get(Invoice.Status.OVERDUE, {}).get("count", 0),
        total=sum(r["count"] for r in by_status.values()),
        unpaid=sum(r["count"] for r in open_rows),
        paid=by_status.get(Invoice.Status.PAID, {}).get("count", 0),
    )


def latest_invoices(customer: Customer, *, limit: int = 5) -> list[Invoice]:
    return list(invoices_for(customer)[:limit])


def next_due(customer: Customer) -> Invoice | None:
    """The open invoice to pay first: the earliest due date."""
    return invoices_for(customer, status="unpaid").order_by("due_date", "id").first()


@dataclass(frozen=True)
class ServiceGroup:
    service: str
    lines: list
    subtotal: Decimal


def invoice_line_groups(invoice: Invoice) -> list[ServiceGroup]:
    """The invoice's lines grouped by service, in line order, each group with its subtotal."""
    groups: dict[str, list] = {}
    for line in invoice.lines.all():
        groups.setdefault(line.service, []).append(line)
    return [
        ServiceGroup(service, lines, sum((line.amount for line in lines), ZERO))
        for service, lines in groups.items()
    ]
