"""Project-level pages: the home redirect, the dashboard, and the health endpoints."""

import redis
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import customer_required
from billing import selectors as billing


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
