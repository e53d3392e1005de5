"""Customer-scoped reads for the invoice pages. Every query here starts from a customer."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.models import CheckoutSession, CreditEntry, Invoice, Payment
from core.money import ZERO, round_money

STATUS_FILTERS = {
    "all": pgettext_lazy("tab of invoices", "All"),
    "unpaid": pgettext_lazy("tab of invoices", "Unpaid"),
    "paid": pgettext_lazy("tab of invoices", "Paid"),
}


def invoices_for(customer: Customer, *, status: str = "all", search: str = ""):
    """The customer's issued invoices and credit notes, newest first. The Paid tab holds every
    settled invoice: paid, and covered by credit notes."""
    invoices = Invoice.objects.for_customer(customer).issued()
    if status == "unpaid":
        invoices = invoices.unpaid()
    elif status == "paid":
        invoices = invoices.settled()
    if search:
        invoices = invoices.filter(number__icontains=search.strip())
    return invoices


def invoice_for(customer: Customer, number: str) -> Invoice:
    """One of the customer's issued invoices by number; 404 for anyone else's."""
    return get_object_or_404(
        Invoice.objects.for_customer(customer).issued().select_related("customer"), number=number
    )


def invoices_numbered(customer: Customer, numbers: list[str]) -> list[Invoice]:
    """The customer's issued invoices with these numbers, oldest first; 404 if any of them is
    not one (so that nobody learns which numbers exist elsewhere)."""
    invoices = list(invoices_for(customer).filter(number__in=numbers).order_by("issue_date", "pk"))
    if len(invoices) != len(set(numbers)):
        raise Http404("Some of these invoices do not exist.")
    return invoices


@dataclass(frozen=True)
class InvoiceStats:
    outstanding: Decimal
    total_paid: Decimal
    overdue: int
    total: int
    unpaid: int
    paid: int
    credit: Decimal

    @property
    def tab_counts(self) -> dict[str, int]:
        return {"all": self.total, "unpaid": self.unpaid, "paid": self.paid}


def _sums_by_status(invoices) -> dict[str, dict]:
    """Per status: how many invoices, and the sums of their totals and of what covers them.
    One GROUP BY status (the covering index `invoice_customer_amounts` answers it)."""
    rows = (
        invoices.values("status")
        .annotate(
            count=Count("status"),
            total=Sum("total"),
            paid=Sum("amount_paid"),
            credited=Sum("amount_credited"),
            applied=Sum("credit_applied"),
        )
        .order_by()
    )
    return {row["status"]: row for row in rows}


def _owed(sums: dict) -> Decimal:
    return sums["total"] - sums["paid"] - sums["credited"] - sums["applied"]


def invoice_stats(customer: Customer) -> InvoiceStats:
    """The four cards, the tab counts and the credit balance; the cards from one GROUP BY
    status.

    An open invoice owes the rest of its total (whatever covers it settles it), so what is
    outstanding is total - paid - credited - credit applied, summed over the open statuses.
    Total Paid is the money that went into invoices: payments (less refunds) and credit.
    """
    by_status = _sums_by_status(Invoice.objects.for_customer(customer).issued())
    open_rows = [by_status[s] for s in Invoice.OPEN_STATUSES if s in by_status]
    return InvoiceStats(
        outstanding=round_money(sum((_owed(r) for r in open_rows), ZERO)),
        total_paid=round_money(sum((r["paid"] + r["applied"] for r in by_status.values()), ZERO)),
        overdue=by_status.get(Invoice.Status.OVERDUE, {}).get("count", 0),
        total=sum(r["count"] for r in by_status.values()),
        unpaid=sum(r["count"] for r in open_rows),
        paid=sum(by_status[s]["count"] for s in Invoice.SETTLED_STATUSES if s in by_status),
        credit=credit_balance(customer),
    )


@dataclass(frozen=True)
class StatusShare:
    """How many of the customer's invoices stand in one state, and for how much: the invoices'
    totals when paid, what is still owed on them when unpaid or overdue."""

    status: str  # "paid", "unpaid" or "overdue"
    count: int
    amount: Decimal


def invoice_status_shares(customer: Customer) -> list[StatusShare]:
    """Paid (every settled invoice, as on the Paid tab), Unpaid and Overdue invoices, credit
    notes and void invoices left out: the Usage page's Billing Status pie."""
    by_status = _sums_by_status(
        Invoice.objects.for_customer(customer).filter(kind=Invoice.Kind.INVOICE).issued()
    )
    settled = [by_status[s] for s in Invoice.SETTLED_STATUSES if s in by_status]
    shares = [
        StatusShare(
            "paid",
            sum(r["count"] for r in settled),
            round_money(sum((r["total"] for r in settled), ZERO)),
        )
    ]
    for status in Invoice.OPEN_STATUSES:
        row = by_status.get(status)
        owed = round_money(_owed(row)) if row else ZERO
        shares.append(StatusShare(str(status), row["count"] if row else 0, owed))
    return shares


def credit_balance(customer: Customer) -> Decimal:
    """The customer's credit: money of theirs we hold, set off against their next invoices."""
    return CreditEntry.objects.filter(customer=customer).balance()


def latest_invoices(customer: Customer, *, limit: int = 5) -> list[Invoice]:
    return list(invoices_for(customer)[:limit])


def next_due(customer: Customer) -> Invoice | None:
    """The open invoice to pay first: the earliest due date."""
    return invoices_for(customer, status="unpaid").order_by("due_date", "id").first()


def payable(invoices: list[Invoice]) -> bool:
    """Every one of them still owes something (what Pay Now and Pay selected require)."""
    return bool(invoices) and all(invoice.is_payable for invoice in invoices)


class PaymentOutcome:
    """Where an invoice's online payment stands, as the customer is told after Checkout."""

    PROCESSING = "processing"  # paid on Stripe's page; the webhook has not confirmed it yet
    PAID = "paid"
    NEEDS_REVIEW = "needs_review"  # Stripe took money that did not match: staff check it
    FAILED = "failed"  # nothing was charged


def payment_outcome(invoice: Invoice, *, returned_from_checkout: bool = False) -> str | None:
    """None when no payment is under way. Right after the customer came back from Checkout
    (`returned_from_checkout`) an open session counts as processing until its webhook."""
    if invoice.is_settled:
        return PaymentOutcome.PAID
    latest = invoice.checkouts.order_by("-created_at").first()
    if latest is None:
        return None
    if latest.status == CheckoutSession.Status.NEEDS_REVIEW:
        return PaymentOutcome.NEEDS_REVIEW
    if latest.status == CheckoutSession.Status.PROCESSING or (
        returned_from_checkout and latest.status == CheckoutSession.Status.OPEN
    ):
        return PaymentOutcome.PROCESSING
    if returned_from_checkout:
        return PaymentOutcome.FAILED
    return None


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
    """The invoice's lines grouped by service, in line order, each group with its subtotal."""
    groups: dict[str, list] = {}
    for line in invoice.lines.all():
        groups.setdefault(line.service, []).append(line)
    return [
        ServiceGroup(service, lines, sum((line.amount for line in lines), ZERO))
        for service, lines in groups.items()
    ]
