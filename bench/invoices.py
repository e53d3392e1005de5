"""The Invoices page and its HTMX tab switch for a customer with 10,000 invoices, against the
same requests for a customer with 10: neither time nor queries may grow with the history.

The cards read one row the ledger keeps (billing/models/summary.py) and the table one page of
an index, so what still differs is the rows drawn: 25 on the big customer's page, 10 (and one
unpaid) on the small one's. A third customer with one full page of 25 open invoices measures
the history alone: the same rows on both sides."""

import datetime
import random
from collections import Counter
from decimal import Decimal

from django.conf import settings

from bench.measure import analyze, compare, make_customer, owner_client
from billing import ledger
from billing.models import Invoice, InvoiceSequence
from billing.services import utc_today
from core.money import vat_amount

BIG, SMALL, FULL_PAGE = 10_000, 10, 25
SAMPLES, WARMUP = 50, 5
# The big customer has been billed since 2019; the small one monthly for the last ten months.
FIRST_ISSUE = datetime.date(2019, 1, 1)
SMALL_HISTORY = datetime.timedelta(days=300)
FULL_PAGE_HISTORY = datetime.timedelta(days=FULL_PAGE)  # all still within their 30 days
HTMX = {"HX-Request": "true"}


def run() -> list[dict]:
    today = utc_today()
    big = owner_client(customer_with_history("C-90001", "Big Cloud AB", BIG, FIRST_ISSUE, today))
    small = owner_client(
        customer_with_history("C-90002", "Small Cloud AB", SMALL, today - SMALL_HISTORY, today)
    )
    full = owner_client(
        customer_with_history(
            "C-90003", "Page Cloud AB", FULL_PAGE, today - FULL_PAGE_HISTORY, today
        )
    )
    analyze()
    goals = {"median_ms": 30, "p95_ms": 60, "max_ratio": 1.2, "samples": SAMPLES, "warmup": WARMUP}
    rows = []
    for baseline, count in ((small, SMALL), (full, FULL_PAGE)):
        what = f"{BIG:,} vs {count} invoices"
        rows += [
            *compare(big, baseline, "/invoices/", f"Invoices page, {what}", **goals),
            *compare(
                big,
                baseline,
                "/invoices/?status=unpaid",
                f"Unpaid tab (HTMX), {what}",
                **goals,
                headers=HTMX,
            ),
        ]
    return rows


def customer_with_history(
    number: str, name: str, count: int, first_issue: datetime.date, today: datetime.date
):
    """A customer with `count` invoices issued evenly from `first_issue` until today, numbered
    in issue order. Those not yet due are unpaid; of the rest one in 40 went overdue and the
    others are paid. No lines: the list page never reads them."""
    customer = make_customer(number, name)
    terms = datetime.timedelta(days=customer.billing_profile.payment_terms_days)
    span = (today - first_issue).days
    issue_dates = [
        first_issue + datetime.timedelta(days=span * (n + 1) // count) for n in range(count)
    ]
    per_year = Counter(date.year for date in issue_dates)
    numbers = {year: iter(take_numbers(year, n)) for year, n in sorted(per_year.items())}
    amounts = random.Random(number)
    invoices = []
    for n, issue_date in enumerate(issue_dates):
        subtotal = Decimal(amounts.randrange(5_000, 500_000)) / 100
        invoice = Invoice(
            customer=customer,
            number=f"INV-{issue_date.year}-{next(numbers[issue_date.year]):04d}",
            status=Invoice.Status.PAID,
            issue_date=issue_date,
            due_date=issue_date + terms,
            finalized_at=noon(issue_date),
            subtotal=subtotal,
            vat_rate=settings.VAT_RATE,
            vat_amount=vat_amount(subtotal, settings.VAT_RATE, "EUR"),
        )
        invoice.total = invoice.subtotal + invoice.vat_amount
        if invoice.due_date >= today:
            invoice.status = Invoice.Status.UNPAID
        elif n % 40 == 0:
            invoice.status = Invoice.Status.OVERDUE
            invoice.overdue_at = noon(invoice.due_date + datetime.timedelta(days=1))
        else:
            invoice.amount_paid = invoice.total
            invoice.paid_at = noon(invoice.due_date - datetime.timedelta(days=3))
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices, batch_size=1000)
    # Written in bulk, past the workflows that book each invoice: the summary is made once.
    ledger.recount_summaries([customer.pk])
    return customer


def take_numbers(year: int, count: int) -> range:
    """Reserve `count` numbers of `year` as finalizing does, so that an invoice finalized later
    in the run continues the sequence rather than colliding with these."""
    sequence, _ = InvoiceSequence.objects.get_or_create(year=year)
    first = sequence.last_number + 1
    sequence.last_number += count
    sequence.save(update_fields=["last_number"])
    return range(first, first + count)


def noon(date: datetime.date) -> datetime.datetime:
    return datetime.datetime(date.year, date.month, date.day, 12, tzinfo=datetime.UTC)
