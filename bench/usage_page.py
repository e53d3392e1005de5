"""The Usage page for Last 90 Days with BENCH_SCALE raw usage records behind it (10 million by
default; bench/scale.py), against the same page with a thousand: the page reads the daily rollup
only, so neither its time nor its queries may grow with the records.

Both customers have the same 12 services and 4 metrics and usage all through the 90 days shown
and the 90 before (so that both pages draw the same bars and rows). The big one sent records
every day for 868 days, BENCH_SCALE of them spread evenly over its services, metrics and days
(10 million: 240 a day of each metric of each service, every 6 minutes), rolled up into 41,664
daily rows; the small one a record a day every 9th day, 21 times (12 x 4 x 21 = 1,008 records
and rows). On PostgreSQL the raw records are written too (in SQL), so that the table the page
must not read is really there; on SQLite only the rollup is.
"""

import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from bench import scale
from bench.measure import analyze, compare, make_customer, owner_client
from usage.models import DailyUsage, Metric, Sender, Service

SERVICES = 12
BIG_DAYS, SMALL_DAYS, SMALL_EVERY = 868, 21, 9
SAMPLES, WARMUP = 50, 5
PATH = "/usage/?range=90d"
# An hour's use of one metric by one service: what a record says.
HOURLY = {
    Metric.CPU: Decimal("4"),
    Metric.MEMORY: Decimal("16"),
    Metric.STORAGE: Decimal("500"),
    Metric.BANDWIDTH: Decimal("0.75"),
}


def run() -> list[dict]:
    today = timezone.now().date()
    every_day = [today - datetime.timedelta(days=age) for age in range(BIG_DAYS)]
    every_9th = [today - datetime.timedelta(days=SMALL_EVERY * n) for n in range(SMALL_DAYS)]
    per_day = max(1, scale.raw_records() // (SERVICES * len(HOURLY) * BIG_DAYS))
    big = owner_client(customer_with_usage("C-90101", "Metered Big AB", every_day, per_day))
    small = owner_client(customer_with_usage("C-90102", "Metered Small AB", every_9th, 1))
    analyze()
    what = (
        f"Usage page, 90 days, {raw_records(BIG_DAYS, per_day):,} vs "
        f"{raw_records(SMALL_DAYS, 1):,} records"
    )
    return compare(
        big,
        small,
        PATH,
        what,
        median_ms=50,
        p95_ms=100,
        max_ratio=1.3,
        samples=SAMPLES,
        warmup=WARMUP,
    )


def raw_records(days: int, per_day: int) -> int:
    return SERVICES * len(HOURLY) * days * per_day


def customer_with_usage(number: str, name: str, days: list[datetime.date], per_day: int):
    """A customer whose services each sent `per_day` records per metric on each of `days`, and
    the daily rollup the aggregation would have made of them."""
    customer = make_customer(number, name)
    services = Service.objects.bulk_create(
        Service(customer=customer, name=f"service-{n:02d}") for n in range(SERVICES)
    )
    DailyUsage.objects.bulk_create(
        (
            DailyUsage(
                customer=customer,
                service=service,
                metric=metric,
                day=day,
                quantity=hourly * 24 * (1 + n % 3),
            )
            for n, service in enumerate(services)
            for day in days
            for metric, hourly in HOURLY.items()
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        write_raw_records(customer, services, days, per_day)
    return customer


# Record n (from 0) is service n mod 12, metric n / 12 mod 4, slot n / 48 of the whole: day
# slot / per_day, and within it the slot's share of the day. Each record is its day's use of
# the metric by the service divided by per_day, as the rollup has it.
RAW_RECORDS = """
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %(customer)s, s.service, s.metric, 'page-' || n,
       s.hourly * 24 / %(per_day)s * (1 + s.service_index %% 3), at, at + %(span)s, '', now(),
       %(sender)s
FROM generate_series(0, %(count)s - 1) AS n,
     LATERAL (
         SELECT (%(services)s::bigint[])[1 + n %% 12] AS service, n %% 12 AS service_index,
                (%(metrics)s::text[])[1 + n / 12 %% 4] AS metric,
                (%(hourly)s::numeric[])[1 + n / 12 %% 4] AS hourly
     ) AS s,
     LATERAL (
         SELECT (%(days)s::date[])[1 + n / 48 / %(per_day)s]::timestamp AT TIME ZONE 'UTC'
                + (n / 48 %% %(per_day)s) * %(span)s AS at
     ) AS t
"""


def write_raw_records(customer, services, days: list[datetime.date], per_day: int) -> None:
    """The raw records behind the rollup, written in one statement (10 million in minutes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            RAW_RECORDS,
            {
                "customer": customer.pk,
                "services": [service.pk for service in services],
                "metrics": list(HOURLY),
                "hourly": list(HOURLY.values()),
                "days": days,
                "per_day": per_day,
                "span": datetime.timedelta(hours=24) / per_day,
                "count": raw_records(len(days), per_day),
                "sender": Sender.named(Sender.IMPORT).pk,
            },
        )
