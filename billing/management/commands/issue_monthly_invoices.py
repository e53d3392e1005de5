"""`manage.py issue_monthly_invoices --month 2026-10`: invoice a month of usage now.

The hourly beat task does this by itself on the 1st (billing/tasks.py); the command is for a
month it missed, or to see what a month holds. Safe to run any number of times.
"""

import datetime
import re

from django.core.management.base import BaseCommand, CommandError

from billing import invoicing
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
    return first


class Command(BaseCommand):
    help = "Issue the invoices for a month of usage (counting new usage records first)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month to invoice, e.g. 2026-10.")

    def handle(self, *args, month: str, **options):
        first = month_argument(month)
        counted = aggregate_usage()
        self.stdout.write(f"Counted {counted} new usage records.")
        issued = existed = skipped = 0
        for customer in invoicing.customers_with_usage(first):
            who = f"{customer.name} ({customer.number})"
            try:
                invoice, created = invoicing.issue_monthly_invoice(customer, first)
            except invoicing.NotInvoiceable as exc:
                skipped += 1
                self.stdout.write(self.style.WARNING(f"Skipped {who}: {exc}"))
                continue
            if invoice is None:
                self.stdout.write(f"Nothing to invoice for {who}: no billable usage.")
            elif created:
                issued += 1
                total = format_money(invoice.total, invoice.currency)
                self.stdout.write(self.style.SUCCESS(f"Issued {invoice.number} to {who}: {total}."))
            else:
                existed += 1
                self.stdout.write(f"Already issued: {invoice.number} to {who}.")
        self.stdout.write(
            f"{first:%B %Y}: {issued} issued, {existed} already issued, {skipped} skipped."
        )
