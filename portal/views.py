"""Project-level pages: the home redirect, the dashboard, the Usage page (usage's figures, with
the fragments billing renders for it), and the health endpoints."""

from urllib.parse import urlencode

import redis
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import customer_required
from billing import late_usage as billing_late_usage
from billing import selectors as billing
from core.dates import last_of_month
from core.rendering import render_page
from usage import charts
from usage import selectors as usage_selectors
from usage.forms import UsageFilterForm
from usage.labels import RANGE_LABELS
from usage.ranges import local_today


@require_GET
def home(request):
    return redirect("dashboard" if request.user.is_authenticated else "login")


@require_GET
@customer_required
def dashboard(request):
    """The four invoice cards, the latest invoices and what to pay next."""
    context = {
        "stats": billing.invoice_stats(request.customer),
        "latest": billing.latest_invoices(request.customer),
        "next_due": billing.next_due(request.customer),
    }
    return render(request, "portal/dashboard.html", context)


# Why a month's usage cannot be invoiced yet (usage.selectors, billing.models.UninvoicedMonth).
NOT_INVOICEABLE = {
    usage_selectors.NO_PRICE: _("part of it has no price in your pricing plan"),
    usage_selectors.HELD: _("part of it could not be counted yet"),
    "failed": _("its invoice could not be made"),
    "plan_currency": _("your pricing plan is not in the currency you are billed in"),
}


@require_GET
@customer_required
def usage(request):
    """Usage and its estimated cost for a range (`?range=`, or `?month=YYYY-MM`), all services
    or one (`?service=`), beside billing's Billing Status panel (billing_tags, in the
    template). HTMX swaps only the content below the title when the range changes."""
    customer = request.customer
    today = local_today(customer)
    choice = UsageFilterForm(request.GET).choice(today)
    service = {"service": choice.service} if choice.service else {}
    query = urlencode(choice.query | service)
    context = {
        "choice": choice,
        "ranges": [
            (key, label, "?" + urlencode({"range": key} | service))
            for key, label in RANGE_LABELS.items()
        ],
        "all_services_url": "?" + urlencode(choice.query),
        "export_url": f"{reverse('usage_export_csv')}?{query}",
        "daily_url": f"{reverse('usage_daily_csv')}?{query}",
        "range_name": range_name(choice.range),
        "previous_name": previous_name(choice.range),
        "overview": None,
    }
    if usage_selectors.has_usage(customer):
        overview = usage_selectors.usage_overview(
            customer, choice.range, today, service=choice.service
        )
        context["overview"] = overview
        context["chart"] = charts.cost_bars(overview.buckets, by_week=choice.range.by_week)
        first_day = min(choice.range.first_day, overview.outlook.month)
        last_day = max(choice.range.last_day, today)
        blocked = billing.uninvoiced_months(customer, first_day, last_day)
        blocked |= overview.not_invoiceable
        context["not_invoiceable"] = [
            (month, NOT_INVOICEABLE[reason]) for month, reason in sorted(blocked.items())
        ]
        context["outlook_blocked"] = overview.outlook.month in blocked
        usage_range = choice.range
        if usage_range.first_day.day == 1 and usage_range.last_day == last_of_month(
            usage_range.first_day
        ):  # a calendar month: where its usage was invoiced, late usage too
            context["month_invoicing"] = billing_late_usage.month_invoicing(
                customer, usage_range.first_day
            )
        context["months"] = usage_selectors.usage_months(customer)
        context["services"] = usage_selectors.service_names(customer)
    return render_page(request, "portal/usage.html", context, fragment="usage-content")


def range_name(usage_range) -> str:
    """Last 7 Days, Last 90 Days; a calendar month by name (October 2026), the current one
    as "November 2026 so far"."""
    month = date_format(usage_range.first_day, "F Y")
    if usage_range.is_whole_month:
        return month
    if usage_range.key == "month":
        return gettext("%(month)s so far") % {"month": month}
    return str(RANGE_LABELS[usage_range.key])


def previous_name(usage_range) -> str:
    """What the cards compare with: the month before a calendar month, else as many days."""
    if usage_range.is_whole_month:
        return date_format(usage_range.previous_first, "F Y")
    return ngettext("the day before", "the previous %(days)d days", usage_range.days) % {
        "days": usage_range.days
    }


@require_GET
@never_cache
def healthz(request):
    """Liveness: the process answers. Nothing else is checked."""
    return JsonResponse({"status": "ok"})


def _database_problem() -> str | None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return None


def _broker_problem() -> str | None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    finally:
        client.close()
    return None


@require_GET
@never_cache
def readyz(request):
    """Readiness: the database answers and, when REDIS_URL is set, so does the broker.

    503 names each failing part, so that an operator sees at once what to fix.
    """
    checks = {"database": _database_problem() or "ok"}
    if settings.REDIS_URL:
        checks["broker"] = _broker_problem() or "ok"
    else:
        checks["broker"] = "not configured: tasks run in-process"
    failing = [name for name, state in checks.items() if state.startswith("unreachable")]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)
