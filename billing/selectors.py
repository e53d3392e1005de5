"""Customer-scoped reads for the invoice pages. Every query here starts from a customer."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.models import (
    CreditEntry,
    Invoice,
    InvoiceSummary,
    Payment,
    UninvoicedMonth,
)
from core.money import ZERO, Amounts, per_currency

STATUS_FILTERS = {
    "all": pgettext_lazy("tab of invoices", "All"),
    "unpaid": pgettext_lazy("tab of invoices", "Unpaid"),
    "paid": pgettext_lazy("tab of invoices", "Paid"),
    "credit_notes": pgettext_lazy("tab of invoices", "Credit notes"),
}


def _issued(customer: Customer):
    return Invoice.objects.for_customer(customer).issued()


def invoices_for(customer: Customer, *, status: str = "all", search: str = ""):
    """A tab of the Invoices page, newest first. All, Unpaid and Paid hold invoices (the Paid
    tab every settled one: paid, or covered by credit notes); credit notes have a tab of their
    own, as every count of invoices leaves them out (invoice_stats)."""
    if status == "credit_notes":
        invoices = _issued(customer).credit_notes()
    else:
        invoices = _issued(customer).invoices()
    if status == "unpaid":
        invoices = invoices.unpaid()
    elif status == "paid":
        invoices = invoices.settled()
    if search:
        invoices = invoices.filter(number__icontains=search.strip())
    return invoices


def invoice_for(customer: Customer, number: str) -> Invoice:
    """One of the customer's issued invoices by number; 404 for anyone else's."""
    return get_object_or_404(_issued(customer).select_related("customer"), number=number)


def invoices_numbered(customer: Customer, numbers: list[str]) -> list[Invoice]:
    """The customer's issued invoices with these numbers, oldest first; 404 if any of them is
    not one (so that nobody learns which numbers exist elsewhere)."""
    invoices = list(_issued(customer).filter(number__in=numbers).order_by("issue_date", "pk"))
    if len(invoices) != len(set(numbers)):
        raise Http404("Some of these invoices do not exist.")
    return invoices


@dataclass(frozen=True)
class InvoiceStats:
    """The cards and the tab counts. Every count is of invoices; credit notes are counted
    apart (`credit_notes`), here, on the Dashboard and in the Usage page's Billing Status.
    Every amount is per currency (currency -> amount), never summed across currencies."""

    outstanding: Amounts
    total_paid: Amounts
    overdue: int
    total: int
    unpaid: int
    paid: int
    credit_notes: int
    credit: Amounts

    @property
    def tab_counts(self) -> dict[str, int]:
        return {
            "all": self.total,
            "unpaid": self.unpaid,
            "paid": self.paid,
            "credit_notes": self.credit_notes,
        }


def _summaries(customer: Customer) -> list[InvoiceSummary]:
    """The customer's figures as the ledger keeps them, a row per currency it was billed in."""
    return list(InvoiceSummary.objects.filter(customer=customer))


def _counter(rows: list[InvoiceSummary]):
    """count("invoices_paid", ...): those counts summed over the currencies' rows."""

    def count(*names: str) -> int:
        return sum(getattr(row, name) for row in rows for name in names)

    return count


def _amounts(customer: Customer, rows: list[InvoiceSummary], figure) -> Amounts:
    """`figure` of the summary rows, per currency. Nothing at all is zero in the currency of
    the customer's invoices, or in its billing currency when it has none (or has invoices in
    several): a customer who has paid nothing reads no more than one who has."""
    if amounts := per_currency((row.currency, figure(row)) for row in rows):
        return amounts
    currencies = {row.currency for row in rows}
    return {currencies.pop() if len(currencies) == 1 else customer.billing_profile.currency: ZERO}


def invoice_stats(customer: Customer) -> InvoiceStats:
    """The four cards, the tab counts and the credit balance: the rows of the summary the
    ledger keeps (billing/models/summary.py), one per currency, however many invoices there are.

    An open invoice owes the rest of its total (whatever covers it settles it), so what is
    outstanding is total - paid - credited - credit applied, summed over the open statuses.
    Total Paid is the money that went into invoices: payments (less refunds) and credit.
    Each amount has a figure per currency, in the customer's currency when there is none.
    """
    rows = _summaries(customer)
    count = _counter(rows)
    unpaid = count("invoices_unpaid", "invoices_overdue")
    paid = count("invoices_paid", "invoices_credited")
    return InvoiceStats(
        outstanding=_amounts(customer, rows, lambda row: row.owed_unpaid + row.owed_overdue),
        total_paid=_amounts(customer, rows, lambda row: row.received),
        overdue=count("invoices_overdue"),
        total=unpaid + paid + count("invoices_void"),
        unpaid=unpaid,
        paid=paid,
        credit_notes=count("credit_notes"),
        credit=credit_balances(customer),
    )


@dataclass(frozen=True)
class StatusShare:
    """How many of the customer's invoices stand in one state, and for how much: the invoices'
    totals when paid, what is still owed on them when unpaid or overdue (per currency)."""

    status: str  # "paid", "unpaid" or "overdue"
    count: int
    amount: Amounts


def uninvoiced_months(
    customer: Customer, first_day: datetime.date, last_day: datetime.date
) -> dict[datetime.date, str]:
    """The customer's months from `first_day` to `last_day` that a run could not invoice and
    no later run has: month -> UninvoicedMonth.Reason."""
    rows = UninvoicedMonth.objects.filter(
        customer=customer,
        resolved_at=None,
        usage_month__gte=first_day.replace(day=1),
        usage_month__lte=last_day,
    )
    return dict(rows.values_list("usage_month", "reason"))


@dataclass(frozen=True)
class BillingStatus:
    shares: list[StatusShare]
    credit_notes: int  # left out of the shares, and said so beside them


def billing_status(customer: Customer) -> BillingStatus:
    """The Usage page's Billing Status pie: Paid (every settled invoice, as on the Paid tab),
    Unpaid and Overdue invoices, counted as the Invoices page counts them; credit notes and
    void invoices left out."""
    rows = _summaries(customer)
    count = _counter(rows)
    # Per currency; a share without invoices is left out of the pie (no currency needed).
    shares = [
        StatusShare(
            "paid",
            count("invoices_paid", "invoices_credited"),
            per_currency((r.currency, r.settled_total) for r in rows),
        ),
        StatusShare(
            str(Invoice.Status.UNPAID),
            count("invoices_unpaid"),
            per_currency((r.currency, r.owed_unpaid) for r in rows),
        ),
        StatusShare(
            str(Invoice.Status.OVERDUE),
            count("invoices_overdue"),
            per_currency((r.currency, r.owed_overdue) for r in rows),
        ),
    ]
    return BillingStatus(shares=shares, credit_notes=count("credit_notes"))


def credit_balance(customer: Customer, currency: str) -> Decimal:
    """The customer's credit in one currency: money of theirs we hold, set off only against
    their next invoices in that currency."""
    return CreditEntry.objects.filter(customer=customer, currency=currency).balance()


def credit_balances(customer: Customer) -> Amounts:
    """The customer's credit in each currency it holds some in (none: an empty mapping)."""
    incoming = Q(kind__in=CreditEntry.INCOMING)
    rows = (
        CreditEntry.objects.filter(customer=customer)
        .values("currency")
        .annotate(incoming=Sum("amount", filter=incoming), outgoing=Sum("amount", filter=~incoming))
        .order_by("currency")
    )
    balances = {r["currency"]: (r["incoming"] or ZERO) - (r["outgoing"] or ZERO) for r in rows}
    return {code: amount for code, amount in balances.items() if amount}


def latest_invoices(customer: Customer, *, limit: int = 5) -> list[Invoice]:
    return list(invoices_for(customer)[:limit])


def next_due(customer: Customer) -> Invoice | None:
    """The open invoice to pay first: the earliest due date."""
    return invoices_for(customer, status="unpaid").order_by("due_date", "id").first()


@dataclass(frozen=True)
class BalanceLine:
    label: str
    amount: Decimal  # what it does to the amount due: a payment or credit is negative


@dataclass(frozen=True)
class Balance:
    """What is owed on an invoice, as its PDF, its emails and the pay dialog all state it: the
    total, then every credit note, credit applied, payment and refund, then the amount due
    now (total plus the lines, or nothing once the invoice is settled or void)."""

    currency: str
    total: Decimal
    lines: list[BalanceLine]
    amount_due: Decimal
    due_date: object


PAYMENT_LABELS = {
    (Payment.Kind.PAYMENT, Payment.Method.BANK_TRANSFER): _("Bank transfer received %(date)s"),
    (Payment.Kind.PAYMENT, Payment.Method.CARD): _("Card payment received %(date)s"),
    (Payment.Kind.REFUND, Payment.Method.BANK_TRANSFER): _("Refunded %(date)s"),
    (Payment.Kind.REFUND, Payment.Method.CARD): _("Refunded to the card %(date)s"),
}


def invoice_balance(invoice: Invoice) -> Balance:
    """The one summary of what is owed on an invoice (two queries), in the active language."""
    lines = [
        BalanceLine(gettext("Credit note %(number)s") % {"number": note.number}, note.total)
        for note in invoice.credit_notes.issued().order_by("issue_date", "pk")
    ]
    if invoice.credit_applied:
        lines.append(BalanceLine(gettext("Credit applied"), -invoice.credit_applied))
    for payment in invoice.payments.order_by("received_at", "pk"):
        date = date_format(invoice.local_date(payment.received_at))
        if payment.kind == Payment.Kind.TO_CREDIT:
            moved = gettext("Moved to your credit %(date)s") % {"date": date}
            lines.append(BalanceLine(moved, payment.amount))
            continue
        label = PAYMENT_LABELS[payment.kind, payment.method] % {"date": date}
        sign = -1 if payment.kind == Payment.Kind.PAYMENT else 1
        lines.append(BalanceLine(label, sign * payment.amount))
    return Balance(
        currency=invoice.currency,
        total=invoice.total,
        lines=lines,
        amount_due=invoice.outstanding,
        due_date=invoice.due_date,
    )


@dataclass(frozen=True)
class ServiceGroup:
    service: str
    lines: list
    subtotal: Decimal


def invoice_line_groups(invoice: Invoice) -> list[ServiceGroup]:
    """The invoice's lines grouped by service (named in the reader's language where the
    portal names it), in line order, each group with its subtotal."""
    groups: dict[str, list] = {}
    for line in invoice.lines.all():
        groups.setdefault(line.service_label, []).append(line)
    return [
        ServiceGroup(service, lines, sum((line.amount for line in lines), ZERO))
        for service, lines in groups.items()
    ]
