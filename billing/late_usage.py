"""Late usage as billing reads it: what arrived after its month was invoiced and waits for
the next invoice, priced at its month's prices, and where an invoiced month's usage went."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Customer
from billing.models import Invoice
from core.dates import first_of_month, last_of_month
from core.money import ZERO, line_amount
from usage.models import METRIC_ORDER, LateUsage
from usage.pricing import price_book, priced_quantity


@dataclass(frozen=True)
class LatePart:
    """Late usage (usage.models.late) of one service and metric from one month, not billed
    yet: the quantity and unit price of the invoice line that bills it (the month's price)."""

    service: str
    metric: str
    month: datetime.date
    quantity: Decimal
    unit_price: Decimal | None  # None: that month's plan has no price for the metric
    rows: list[int]  # the LateUsage rows
    currency: str  # the plan's (the customer's)

    @property
    def amount(self) -> Decimal:
        if self.unit_price is None:
            return ZERO
        return line_amount(self.quantity, self.unit_price, self.currency)


def unbilled_late_usage(
    customer: Customer, *, before: datetime.date | None = None, month: datetime.date | None = None
) -> list[LatePart]:
    """The customer's late usage on no invoice yet, of the months before `before` or of
    `month`, by service, metric (the catalogue's order) and month."""
    rows = LateUsage.objects.filter(customer=customer, billed__isnull=True)
    if before is not None:
        rows = rows.filter(day__lt=before)
    if month is not None:
        rows = rows.filter(day__range=(month, last_of_month(month)))
    groups: dict[tuple[str, str, datetime.date], tuple[list[Decimal], list[int]]] = {}
    for pk, service, metric, day, quantity in rows.values_list(
        "pk", "service__name", "metric", "day", "quantity"
    ).order_by("pk"):
        quantities, ids = groups.setdefault((service, metric, first_of_month(day)), ([], []))
        quantities.append(quantity)
        ids.append(pk)
    if not groups:
        return []
    months = [month for _, _, month in groups]
    book = price_book(customer, min(months), max(months))
    return [
        LatePart(
            service,
            metric,
            month,
            priced_quantity(metric, sum(quantities)),
            book.unit_price(metric, month),
            ids,
            book.currency or customer.billing_profile.currency,
        )
        for (service, metric, month), (quantities, ids) in sorted(
            groups.items(), key=lambda item: (item[0][0], METRIC_ORDER[item[0][1]], item[0][2])
        )
    ]


@dataclass(frozen=True)
class MonthInvoicing:
    """Where a month's usage went: its invoice, the late usage of it that waits for the next
    invoice (net, EUR), and the later invoices that billed late usage of it."""

    invoice: Invoice
    late_waiting: Decimal
    late_billed_on: list[Invoice]


def month_invoicing(customer: Customer, month: datetime.date) -> MonthInvoicing | None:
    """The Usage page's word on an invoiced month; None for a month not invoiced from usage."""
    invoice = Invoice.objects.filter(customer=customer, usage_month=month).first()
    if invoice is None:
        return None
    waiting = sum((part.amount for part in unbilled_late_usage(customer, month=month)), ZERO)
    billed_on = (
        Invoice.objects.filter(
            customer=customer,
            lines__late=True,
            lines__month=month,
        )
        .distinct()
        .order_by("issue_date", "number")
    )
    return MonthInvoicing(invoice, waiting, list(billed_on))


def late_usage_waiting(month: datetime.date) -> str:
    """Why a month's raw usage records must stay (usage.archive): late usage of the month
    that waits for an invoice, by customer; "" when there is none."""
    waiting = LateUsage.objects.filter(
        day__range=(month, last_of_month(month)), billed__isnull=True
    )
    numbers = sorted(set(waiting.values_list("customer__number", flat=True)))
    if not numbers:
        return ""
    return f"late usage of it waits for the next invoice of {', '.join(numbers)}"
