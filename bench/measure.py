"""What every benchmark shares: the result row, timed requests through Django's test client
(middleware, view and template in-process, no network), planner statistics, and a customer
with a logged-in owner."""

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer, Membership, User
from billing.models import BillingProfile


class BenchError(Exception):
    """A request answered something else than 200: timing it would measure the wrong page."""


def row(name: str, value, unit: str, *, goal: str, ok: bool, baseline=None) -> dict:
    """One line of the table and of results.json. `ratio` is value / baseline, when both exist."""
    ratio = value / baseline if value is not None and baseline else None
    return {
        "name": name,
        "value": _rounded(value),
        "unit": unit,
        "baseline": _rounded(baseline),
        "ratio": _rounded(ratio, 3),
        "goal": goal,
        "ok": ok,
    }


def _rounded(number, places: int = 2):
    return round(number, places) if isinstance(number, float) else number


def median(times: list[float]) -> float:
    return statistics.median(times)


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def get(client: Client, path: str, headers: dict | None = None):
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}, not 200.")
    if response.streaming:
        # A download is served when its last byte is read, not when the view returns.
        response.getvalue()
    return response


def timed_gets(
    clients: list[Client], path: str, *, samples: int, warmup: int, headers: dict | None = None
) -> list[list[float]]:
    """Milliseconds per request, one list per client. The clients take turns, so that a busy
    moment on the machine hits them alike; the warm-up fills template, URL and connection caches.
    """
    for _ in range(warmup):
        for client in clients:
            get(client, path, headers)
    times = [[] for _ in clients]
    for _ in range(samples):
        for client, client_times in zip(clients, times, strict=True):
            start = time.perf_counter()
            get(client, path, headers)
            client_times.append((time.perf_counter() - start) * 1000)
    return times


def query_count(client: Client, path: str, headers: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        get(client, path, headers)
    return len(queries)


def compare(
    big: Client,
    small: Client,
    path: str,
    what: str,
    *,
    median_ms: float,
    p95_ms: float,
    samples: int,
    warmup: int,
    max_ratio: float | None = None,
    headers: dict | None = None,
) -> list[dict]:
    """Median, p95 and queries of one request for the big customer, the small one's as the
    baseline. With `max_ratio`, the median must also stay within that multiple of it."""
    big_ms, small_ms = timed_gets(
        [big, small], path, samples=samples, warmup=warmup, headers=headers
    )
    small_queries = query_count(small, path, headers)
    big_queries = query_count(big, path, headers)
    median_goal, median_ok = f"< {median_ms:g} ms", median(big_ms) < median_ms
    if max_ratio is not None:
        median_goal += f", ratio < {max_ratio:g}"
        median_ok = median_ok and median(big_ms) / median(small_ms) < max_ratio
    return [
        row(
            f"{what}: median",
            median(big_ms),
            "ms",
            baseline=median(small_ms),
            goal=median_goal,
            ok=median_ok,
        ),
        row(
            f"{what}: p95",
            p95(big_ms),
            "ms",
            baseline=p95(small_ms),
            goal=f"< {p95_ms:g} ms",
            ok=p95(big_ms) < p95_ms,
        ),
        row(
            f"{what}: queries",
            big_queries,
            "queries",
            baseline=small_queries,
            goal="= baseline",
            ok=big_queries == small_queries,
        ),
    ]


def analyze() -> None:
    """Do what autovacuum would have done by now: gather the planner's statistics (without
    them PostgreSQL sorts all of a customer's invoices for the first page instead of walking
    the index) and mark pages all-visible (so that index-only scans skip the table)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def make_customer(number: str, name: str) -> Customer:
    """A Swedish customer, as most are: 25% VAT, 30 days to pay."""
    customer = Customer.objects.create(
        name=name,
        number=number,
        address_line1="Storgatan 1",
        postal_code="111 22",
        city="Stockholm",
        country="SE",
        vat_id="SE556000000001",
    )
    BillingProfile.objects.create(customer=customer, payment_terms_days=30)
    return customer


def owner_client(customer: Customer) -> Client:
    """A test client logged in as the customer's owner (no password: force_login)."""
    user = User.objects.create_user(f"owner@{customer.number.lower()}.example")
    Membership.objects.create(user=user, customer=customer, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(user)
    return client
