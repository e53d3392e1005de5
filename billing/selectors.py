"""Customer-scoped reads for the invoice pages. Every query here starts from a customer."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest
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
    """The four cards and the tab counts, in one query that reads only the index
    `invoice_customer_money` (an index-only scan, however long the history)."""
    money = DecimalField(max_digits=12, decimal_places=2)
    owed = Greatest(
        ExpressionWrapper(F("total") - F("amount_paid") - F("amount_credited"), output_field=money),
        Value(ZERO, output_field=money),
    )
    open_ = Q(status__in=Invoice.OPEN_STATUSES)
    row = (
        Invoice.objects.for_customer(customer)
        .issued()
        .aggregate(
            outstanding=Coalesce(Sum(owed, filter=open_), Value(ZERO, output_field=money)),
            total_paid=Coalesce(Sum("amount_paid"), Value(ZERO, output_field=money)),
            overdue=Count("status", filter=Q(status=Invoice.Status.OVERDUE)),
            total=Count("status"),
            unpaid=Count("status", filter=open_),
            paid=Count("status", filter=Q(status=Invoice.Status.PAID)),
        )
    )
    # SQLite sums decimals as floats; cents are what the cards show.
    return InvoiceStats(
        **row
        | {
            "outstanding": round_money(row["outstanding"]),
            "total_paid": round_money(row["total_paid"]),
        }
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
