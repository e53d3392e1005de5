"""Monthly invoices from metered usage: one per customer and month, whatever the retries.

A month's usage (UTC days, `usage.pricing.month_usage`) becomes an invoice with one line per
service and metric: the quantity a unit price applies to (`usage.pricing.priced_quantity`), in
the unit the price is per, at that month's price. Each line's amount is therefore exactly the
cost the Usage page shows for it (`usage.pricing.cost`), and the invoice is made, finalized,
rendered and emailed by the same workflows as any other (billing/services.py).

Lines: every service and metric with usage that prints as more than zero (four decimal places)
gets a line, also when it costs €0.00 (a sliver of usage), so the invoice lists what the Usage
page lists. A customer without such usage gets no invoice.

Prices: each month at the plan recorded for it (usage.pricing.price_book). Usage of a metric
that the month's plan has no price for is never billed at €0.00: the month is not invoiced,
and the run records it on the customer (UninvoicedMonth, the admin's "needs attention"), logs
it and the command names it.

Currency: a customer is billed in its profile's currency, each price plan is in one, and an
invoice is in the customer's currency when it is made. A customer whose plan for the month is
in another currency is not invoiced (no conversion is ever guessed): like a missing price, the
run records it on the customer (UninvoicedMonth, "needs attention"), logs it and the command
names it, until staff put the customer on a plan in its currency.

One invoice per customer and month: `Invoice.usage_month` is unique per customer (a database
constraint), the invoice is made in one transaction, and a run that loses the race returns the
invoice the other run issued.

Grace period: a month is invoiced INVOICE_GRACE_HOURS (24) after it ends (UTC), so that usage
sent a little late still lands on its own invoice.

Late usage: what the aggregation counts for a month after its invoice was issued
(usage.models.late) goes on the customer's next monthly invoice, on lines of its own ("CPU
Hours (vCPU-hours), late usage from November 2026") at the prices of the month it was used in.
The invoice is made while the aggregation is paused (usage.aggregation.pause_counting), and
closes its month in the same transaction: each record is on the month's own invoice or is
late usage, never both. Each late usage row is billed once (billing.models.BilledLateUsage
is keyed by it), whatever the retries. A customer with late usage and nothing else in a month
gets an invoice of late usage alone.

One customer failing alone: each customer's month is invoiced in its own transaction, and a
failure (a figure too large for the books, a database error) rolls back that customer's only;
it is recorded on the customer like a missing price, and the run goes on with the next.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone, translation

from accounts.models import Customer
from billing import ledger, services
from billing.exceptions import (
    MissingPrice,
    NoPlanInCurrency,
    NotInvoiceable,
    UsageHeld,
    WaitsForStaff,
)
from billing.late_usage import LatePart, unbilled_late_usage
from billing.models import BilledLateUsage, Invoice, UninvoicedMonth
from billing.models.lines import usage_line_label
from billing.services import LineSpec
from core.dates import first_of_month, last_of_month, local_date, previous_month
from usage.aggregation import pause_counting
from usage.models import (
    CATALOGUE,
    METRIC_ORDER,
    ClosedMonth,
    DailyUsage,
    HeldRecord,
    LateUsage,
    Metric,
)
from usage.pricing import month_usage, plan_currency, priced_quantity
from usage.services import close_month

log = logging.getLogger(__name__)


# What staff read on a month each kind of WaitsForStaff left uninvoiced.
STAFF_REASONS = {
    MissingPrice: UninvoicedMonth.Reason.NO_PRICE,
    NoPlanInCurrency: UninvoicedMonth.Reason.NO_PLAN_IN_CURRENCY,
    UsageHeld: UninvoicedMonth.Reason.HELD,
}


def usage_lines(customer: Customer, month: datetime.date) -> list[LineSpec]:
    """The invoice lines for a month of the customer's usage, by service, then metric in the
    catalogue's order."""
    rows = sorted(month_usage(customer, month), key=lambda r: (r.service, METRIC_ORDER[r.metric]))
    _refuse_unpriced(
        {row.metric for row in rows if row.unpriced},
        f"{month:%B %Y} has usage of {{names}} but the customer's plan for that month has no "
        "price for it: not invoiced.",
    )
    lines = []
    for row in rows:
        if quantity := priced_quantity(row.metric, row.quantity):
            lines.append(_line(row.service, row.metric, month, quantity, row.unit_price))
    return lines


def _refuse_unpriced(metrics: set[str], message: str) -> None:
    """MissingPrice naming the metrics (`message` with {names}), if there are any."""
    if metrics:
        names = ", ".join(Metric(metric).label for metric in sorted(metrics, key=METRIC_ORDER.get))
        raise MissingPrice(message.format(names=names))


def _line(service, metric, month, quantity, unit_price, *, late: bool = False) -> LineSpec:
    # Stored in English, whoever runs the invoicing; pages and PDFs show the line in the
    # reader's language from its metric, month and lateness (InvoiceLine.label).
    with translation.override("en"):
        description = usage_line_label(metric, month, late=late)
        unit = str(CATALOGUE[metric].priced_unit)
    return LineSpec(
        service=service,
        description=description,
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        metric=metric,
        month=month,
        late=late,
    )


def late_usage_lines(parts: list[LatePart]) -> list[tuple[LineSpec, list[int]]]:
    """The lines for late usage not billed yet, each with the late usage rows it bills. A part
    that prints as zero waits, to add up with what comes later."""
    _refuse_unpriced(
        {part.metric for part in parts if part.unit_price is None},
        "Late usage of {names} arrived for a month whose plan has no price for it: not invoiced.",
    )
    return [
        (_line(p.service, p.metric, p.month, p.quantity, p.unit_price, late=True), p.rows)
        for p in parts
        if p.quantity
    ]


def grace_ends(month: datetime.date) -> datetime.datetime:
    """When a month may be invoiced: INVOICE_GRACE_HOURS after its last UTC day ends."""
    end = last_of_month(month) + datetime.timedelta(days=1)
    return datetime.datetime.combine(end, datetime.time(), tzinfo=datetime.UTC) + _grace()


def _grace() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.INVOICE_GRACE_HOURS)


def customers_with_usage(month: datetime.date) -> QuerySet[Customer]:
    """Customers with usage on any UTC day of the month, counted or held back, or with late
    usage of an earlier month on no invoice yet."""
    # One probe of the rollup's (customer, day) index per customer, not a scan of the month.
    days = (first_of_month(month), last_of_month(month))
    usage = DailyUsage.objects.filter(customer=OuterRef("pk"), day__range=days)
    held = HeldRecord.objects.filter(customer=OuterRef("pk"), month=first_of_month(month))
    late = LateUsage.objects.filter(
        customer=OuterRef("pk"), day__lt=first_of_month(month), billed__isnull=True
    )
    return Customer.objects.filter(Exists(usage) | Exists(held) | Exists(late)).order_by("number")


def _usage_invoice(customer: Customer, month: datetime.date) -> Invoice | None:
    return Invoice.objects.filter(customer=customer, usage_month=month).first()


def issue_monthly_invoice(
    customer: Customer,
    month: datetime.date,
    *,
    issue_date: datetime.date | None = None,
    deliver: bool = True,
) -> tuple[Invoice | None, bool]:
    """The customer's invoice for a month of usage, and whether this call issued it: the one
    issued before (not changed), a new one (finalized; with `deliver`, rendered and emailed
    after commit), or None when the month has no usage to invoice.

    The issue date is the customer's date today unless given. Raises NotInvoiceable for a
    month that is not over (UTC), NoPlanInCurrency for a customer not billed in its plan's
    currency.
    """
    month = first_of_month(month)
    existing = _usage_invoice(customer, month)
    if existing:
        return existing, False
    if month >= first_of_month(services.utc_today()):
        raise NotInvoiceable(f"{month:%B %Y} is not over yet (usage days are UTC days).")
    if timezone.now() < grace_ends(month):
        raise NotInvoiceable(
            f"{month:%B %Y} waits for late usage until {grace_ends(month):%Y-%m-%d %H:%M} UTC "
            f"(INVOICE_GRACE_HOURS={settings.INVOICE_GRACE_HOURS})."
        )
    billed_in, priced_in = customer.billing_profile.currency, plan_currency(customer, month)
    if priced_in and billed_in != priced_in:
        raise NoPlanInCurrency(
            f"{customer.name} is billed in {billed_in} but its price plan for {month:%B %Y} is "
            f"in {priced_in}: not invoiced (prices are never converted). Put it on a plan in "
            f"{billed_in} from that month, or change its currency."
        )
    try:
        with transaction.atomic():
            # The customer first, as every workflow that spends credit locks it (finalizing
            # does): a second run for the same customer waits here, then its insert meets the
            # unique constraint once the first has committed.
            ledger.lock_customer(customer.pk)
            # Then the aggregation's cursor: from here to the commit no record is counted, so
            # the rollup read now is what this invoice bills, and what is counted for the
            # month after the commit is late usage (the month is closed below).
            pause_counting()
            if HeldRecord.objects.filter(customer=customer, month=month).exists():
                raise UsageHeld(
                    f"{month:%B %Y} has usage records held back by the aggregation (its month "
                    "would pass the bound): not invoiced until they are counted."
                )
            if ClosedMonth.objects.filter(customer=customer, month=month).exists():
                # Closed by a run that issued its invoice since we looked, or that found
                # nothing to bill (below): what was counted for it since is late usage, which
                # billing the month now would bill twice.
                return _usage_invoice(customer, month), False
            lines = usage_lines(customer, month)
            late = late_usage_lines(unbilled_late_usage(customer, before=month))
            if not lines and not late:
                # Nothing to bill (its usage prices at zero): closed all the same, so that
                # what comes for it later is late usage like any invoiced month's, and the
                # month can be archived (usage.archive).
                close_month(customer=customer, month=month)
                return None, False
            draft = services.create_draft(
                customer=customer,
                period_start=month,
                period_end=last_of_month(month),
                usage_month=month,
            )
            # Late lines beside the month's own, service by service (a stable sort).
            specs = sorted([*lines, *(spec for spec, _ in late)], key=lambda spec: spec.service)
            created = services.add_lines(invoice=draft, lines=specs)
            late_rows = {id(spec): rows for spec, rows in late}
            BilledLateUsage.objects.bulk_create(
                BilledLateUsage(late_usage_id=row, line=line)
                for spec, line in zip(specs, created, strict=True)
                for row in late_rows.get(id(spec), ())
            )
            close_month(customer=customer, month=month)
            invoice = services.finalize_invoice(
                invoice=draft,
                issue_date=issue_date or local_date(timezone.now(), customer.timezone),
                deliver=deliver,
            )
    except IntegrityError:
        # Another run issued this month's invoice first: it stands, ours rolled back (with the
        # PDF and email it would have sent after commit).
        existing = _usage_invoice(customer, month)
        if existing is None:
            raise
        return existing, False
    return invoice, True


@dataclass(frozen=True)
class Outcome:
    """What a run did with one customer's month: the invoice (issued now or before), or why
    it is skipped (a customer not invoiced from usage), or the month left uninvoiced."""

    customer: Customer
    invoice: Invoice | None = None
    created: bool = False
    skipped: str = ""
    uninvoiced: UninvoicedMonth | None = None


def _record_uninvoiced(customer: Customer, month: datetime.date, reason: str, detail: str):
    now = timezone.now()
    with transaction.atomic():
        row, created = UninvoicedMonth.objects.select_for_update().get_or_create(
            customer=customer, usage_month=month, defaults={"reason": reason, "detail": detail}
        )
        if not created:
            row.reason, row.detail, row.last_failed_at, row.resolved_at = reason, detail, now, None
            row.attempts += 1
            row.save()
    return row


def invoice_month(customer: Customer, month: datetime.date) -> Outcome:
    """Invoice one customer's month of usage as a run does: what cannot be invoiced is logged
    and, unless the customer is not invoiced from usage at all, recorded on it for staff; a
    month invoiced after all is no longer shown to them."""
    try:
        invoice, created = issue_monthly_invoice(customer, month)
    except WaitsForStaff as exc:
        log.error("Monthly invoice of %s for %s not issued: %s", customer.number, month, exc)
        uninvoiced = _record_uninvoiced(customer, month, STAFF_REASONS[type(exc)], str(exc))
        return Outcome(customer, uninvoiced=uninvoiced)
    except NotInvoiceable as exc:
        log.warning("Monthly invoice of %s for %s skipped: %s", customer.number, month, exc)
        return Outcome(customer, skipped=str(exc))
    except Exception as exc:  # one customer's failure must not stop the others' invoices
        # Its transaction rolled back (issue_monthly_invoice): nothing of it is stored.
        log.exception("Monthly invoice of %s for %s failed", customer.number, month)
        detail = f"{type(exc).__name__}: {exc}"[:1000]
        reason = UninvoicedMonth.Reason.FAILED
        return Outcome(customer, uninvoiced=_record_uninvoiced(customer, month, reason, detail))
    if invoice is not None:
        UninvoicedMonth.objects.filter(
            customer=customer, usage_month=month, resolved_at=None
        ).update(resolved_at=timezone.now())
    return Outcome(customer, invoice, created)


def _issue_each(customers, month: datetime.date) -> list[Invoice]:
    outcomes = [invoice_month(customer, month) for customer in customers]
    return [outcome.invoice for outcome in outcomes if outcome.created]


def issue_monthly_invoices(month: datetime.date) -> list[Invoice]:
    """Invoice a month of usage to every customer who has some; returns the invoices issued
    now (a customer invoiced before keeps its invoice; one that cannot be invoiced is logged
    and skipped)."""
    month = first_of_month(month)
    return _issue_each(customers_with_usage(month), month)


def month_due(customer: Customer, now: datetime.datetime) -> datetime.date:
    """The latest month whose invoice is due at `now`: the 1st of the next month has begun in
    the customer's time zone, and the month's UTC days (what usage is counted in) are over."""
    customer_date = local_date(now, customer.timezone)
    utc_date = now.astimezone(datetime.UTC).date()
    return previous_month(min(customer_date, utc_date))


def month_due_after_grace(customer: Customer, now: datetime.datetime) -> datetime.date:
    """month_due, INVOICE_GRACE_HOURS later: the grace period runs on the customer's clock."""
    return month_due(customer, now - _grace())


def issue_due_invoices(*, now: datetime.datetime) -> list[Invoice]:
    """Issue last month's invoice (UTC) to every customer for whom it is due at `now` and who
    has none yet; returns those issued. Run hourly: a customer east of UTC is invoiced at
    midnight UTC, one west of it at its own midnight, each INVOICE_GRACE_HOURS later; a run
    that missed hours catches up."""
    month = previous_month((now - _grace()).astimezone(datetime.UTC).date())
    closed = ClosedMonth.objects.filter(customer=OuterRef("pk"), month=month)
    waiting = (
        customers_with_usage(month).exclude(invoices__usage_month=month).exclude(Exists(closed))
    )
    return _issue_each([c for c in waiting if month_due_after_grace(c, now) >= month], month)
