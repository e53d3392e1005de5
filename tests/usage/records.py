"""Usage records as the cloud sends them, and what the database holds, for the usage tests."""

from decimal import Decimal

from usage.models import DailyUsage, Service, UsageRecord


def record(n: int = 1, customer: str = "C-20000", **fields) -> dict:
    """A valid record of one vCPU-hour on 20 October 2026, with the sender's id `r-<n>`."""
    return {
        "id": f"r-{n}",
        "customer": customer,
        "service": "k8s-prod-eu1",
        "metric": "cpu",
        "quantity": "1.5",
        "start": "2026-10-20T13:00:00Z",
        "end": "2026-10-20T14:00:00Z",
        **fields,
    }


def stored() -> dict:
    """Everything metering has stored: a test of bad input checks that none of it changed."""
    return {
        "records": sorted(UsageRecord.objects.values_list("customer__number", "external_id")),
        "services": sorted(Service.objects.values_list("customer__number", "name")),
        "rollup": sorted(
            DailyUsage.objects.values_list("customer__number", "service__name", "metric", "day")
        ),
    }


def rollup() -> dict:
    """DailyUsage as {(customer number, service, metric, "YYYY-MM-DD"): quantity}."""
    return {
        (c, s, m, d.isoformat()): q
        for c, s, m, d, q in DailyUsage.objects.values_list(
            "customer__number", "service__name", "metric", "day", "quantity"
        )
    }


def raw_totals() -> dict:
    """The raw records summed in Python by customer, service, metric and UTC start day."""
    totals: dict = {}
    for c, s, m, start, q in UsageRecord.objects.values_list(
        "customer__number", "service__name", "metric", "start", "quantity"
    ):
        key = (c, s, m, start.date().isoformat())
        totals[key] = totals.get(key, Decimal(0)) + q
    return totals
