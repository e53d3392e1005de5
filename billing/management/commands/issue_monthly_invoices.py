"""`manage.py issue_monthly_invoices --month 2026-10`: invoice a month of usage now.

The hourly beat task does this by itself on the 2nd, after the grace period (billing/tasks.py,
INVOICE_GRACE_HOURS); the command is for a month it missed, or to see what a month holds. Safe
to run any number of times: a month invoiced before issues nothing new, and says so (and how
much late usage of it waits for the next invoice). An invoice issued now carries the late usage
of earlier months, which the command names.
"""

import datetime
import re

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing import invoicing
from billing.late_usage import unbilled_late_usage
from billing.services import utc_today
from core.money import format_money
from usage.aggregation import aggregate_usage

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_argument(value: str) -> datetime.date:
    """ "2026-10" as the 1st of that month, if it is a month that is over (UTC)."""
    match = MONTH.fullmatch(value.strip())
    if not match:
        raise CommandError(f"--month must be a month as YYYY-MM, e.g. 2026-10 (got {value!r}).")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise CommandError(f"--month {value} is not a month: use YYYY-MM, e.g. 2026-10.")
    first = datetime.date(year, month, 1)
    if first >= utc_today().replace(day=1):
        raise CommandError(
            f"{first:%B %Y} is not over yet (usage days are UTC days): only past months "
            "can be invoiced."
        )
    if timezone.now() < invoicing.grace_ends(first):
        raise CommandError(
            f"{first:%B %Y} waits for late usage until "
            f"{invoicing.grace_ends(first):%Y-%m-%d %H:%M} UTC (INVOICE_GRACE_HOURS)."
        )
    return first


class Command(BaseCommand):
    help = "Issue the invoices for a month of usage (counting new usage records first)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month to invoice, e.g. 2026-10.")

    def handle(self, *args, month: str, **options):
        first = month_argument(month)
        counted = aggregate_usage()
        self.stdout.write(f"Counted {counted} new usage records.")
        issued = existed = skipped = uninvoiced = 0
        for customer in invoicing.customers_with_usage(first):
            who = f"{customer.name} ({customer.number})"
            outcome = invoicing.invoice_month(customer, first)
            invoice, created = outcome.invoice, outcome.created
            if outcome.uninvoiced:
                uninvoiced += 1
                detail = outcome.uninvoiced.detail
                self.stdout.write(self.style.ERROR(f"Not invoiced: {who}: {detail}"))
            elif outcome.skipped:
                skipped += 1
                self.stdout.write(self.style.WARNING(f"Skipped {who}: {outcome.skipped}"))
            elif invoice is None:
                self.stdout.write(f"Nothing to invoice for {who}: no billable usage.")
            elif created:
                issued += 1
                total = format_money(invoice.total, invoice.currency)
                self.stdout.write(self.style.SUCCESS(f"Issued {invoice.number} to {who}: {total}."))
                for line in invoice.lines.filter(late=True):
                    amount = format_money(line.amount, invoice.currency)
                    self.stdout.write(f"  with {line.service} · {line.description}: {amount}")
            else:
                existed += 1
                self.stdout.write(f"Already issued: {invoice.number} to {who}.")
                late = unbilled_late_usage(customer, month=first)
                if waiting := sum(part.amount for part in late):
                    amount = format_money(waiting, invoice.currency)
                    self.stdout.write(
                        f"  Late usage of {first:%B %Y} since: {amount} before VAT, for the "
                        "next monthly invoice."
                    )
        self.stdout.write(
            f"{first:%B %Y}: {issued} issued, {existed} already issued, {skipped} skipped, "
            f"{uninvoiced} not invoiced (needs attention in the admin)."
        )
        if not issued:
            self.stdout.write(f"Nothing new issued for {first:%B %Y}.")
