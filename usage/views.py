"""The Usage page's CSV exports and the Prices page (the Usage page itself is composed in
portal.views, beside billing's fragments). HTTP only: read the request, call a selector,
write rows or render."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from accounts.access import customer_required
from core.dates import first_of_month
from usage import exports, pricing, selectors
from usage.forms import UsageChoice, UsageFilterForm
from usage.ranges import local_today


def _choice(request) -> UsageChoice:
    today = local_today(request.customer)
    return UsageFilterForm(request.GET).choice(today)


def _csv(request, choice: UsageChoice, kind: str, rows: list[list]) -> HttpResponse:
    """usage-C-10001-2026-10.csv, usage-daily-C-10001-2026-11-16_2026-11-22-web.csv."""
    parts = [kind, request.customer.number, choice.range.slug]
    if choice.service:
        parts.append(slugify(choice.service)[:40] or "service")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{"-".join(parts)}.csv"'
    # Every text cell quoted and numbers bare, so that whatever reads the file tells text from
    # numbers by the quotes (defence in depth beside exports.text_cell).
    csv.writer(response, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return response


@require_GET
@customer_required
def export_csv(request):
    choice = _choice(request)
    summary = selectors.usage_summary(request.customer, choice.range, service=choice.service)
    return _csv(request, choice, "usage", exports.summary_rows(summary))


@require_GET
@customer_required
def daily_csv(request):
    choice = _choice(request)
    costs = selectors.daily_costs(request.customer, choice.range, service=choice.service)
    return _csv(request, choice, "usage-daily", exports.daily_rows(costs))


@require_GET
@customer_required
def prices(request):
    """The customer's price plan, newest first: unit prices per metric and the month each
    applies from, so that the Usage page's estimates can be checked by hand."""
    this_month = first_of_month(timezone.now().date())  # prices change on UTC months
    steps = pricing.price_history(request.customer, this_month)
    return render(request, "usage/prices.html", {"steps": steps})
