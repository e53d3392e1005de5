"""Usage aggregation: raw records a second rolled into the daily rollup by aggregate_usage(),
against a bare INSERT ... SELECT ... GROUP BY of the same rows into the same (emptied) rollup
table, in one statement: what remains is the cost of the aggregation's own machinery (batches,
the cursor and its lock, counting, ON CONFLICT). Goal: within 1.5 times the bare statement.

The records (a year of hourly records over 8 services and 4 metrics, in the order of time, as
they arrive) are made in SQL, then the planner's statistics gathered; the two runs alternate
over the same rows.
"""

import time

from django.db import connection, transaction

from accounts.models import Customer
from bench.measure import analyze, make_customer, row
from usage.aggregation import aggregate_usage
from usage.models import Sender, Service

RECORDS = {"postgresql": 1_000_000, "sqlite": 200_000}
ROUNDS = 3
SERVICES = 8
HOURS = 365 * 24

FILL_POSTGRESQL = """
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %s, (%s::bigint[])[1 + n %% 8],
       (ARRAY['cpu', 'memory', 'storage', 'bandwidth'])[1 + n / 8 %% 4],
       'agg-' || n, (n %% 1000) / 100.0, at, at + interval '1 hour', '', now(), %s
FROM generate_series(1, %s) AS n,
     LATERAL (SELECT timestamptz '2025-11-01 00:00Z' + (n / %s) * interval '1 hour' AS at) AS t
"""

FILL_SQLITE = """
WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < %s)
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %s, json_extract(%s, '$[' || (n %% 8) || ']'),
       json_extract('["cpu", "memory", "storage", "bandwidth"]', '$[' || (n / 8 %% 4) || ']'),
       'agg-' || n, (n %% 1000) / 100.0,
       datetime('2025-11-01', '+' || (n / %s) || ' hours'),
       datetime('2025-11-01', '+' || (n / %s + 1) || ' hours'), '', datetime('now'), %s
FROM numbers
"""

BARE = {
    "postgresql": """
        INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
        SELECT customer_id, service_id, metric, (start AT TIME ZONE 'UTC')::date, SUM(quantity)
        FROM usage_usagerecord WHERE id > %s AND id <= %s
        GROUP BY 1, 2, 3, 4
    """,
    "sqlite": """
        INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
        SELECT customer_id, service_id, metric, date(start), SUM(quantity)
        FROM usage_usagerecord WHERE id > %s AND id <= %s
        GROUP BY 1, 2, 3, 4
    """,
}


def run() -> list[dict]:
    database = connection.vendor
    count = RECORDS.get(database, RECORDS["sqlite"])
    aggregate_usage()  # what other benchmarks left: not part of the measurement
    customer, low, high = fill(count)
    analyze()
    ours, bare = [], []
    for _ in range(ROUNDS):
        rewind(customer, low)
        bare.append(bare_per_second(low, high))
        rewind(customer, low)
        ours.append(aggregation_per_second(count))
    best, baseline = max(ours), max(bare)
    return [
        row(
            f"Usage aggregation, {count:,} raw records into the daily rollup ({database}; "
            "baseline: a bare INSERT ... SELECT ... GROUP BY of the same rows)",
            best,
            "records/s",
            baseline=baseline,
            goal="within 1.5x the bare statement",
            ok=best * 1.5 >= baseline,
        )
    ]


def fill(count: int) -> tuple[Customer, int, int]:
    """`count` raw records of a new customer; returns it and the id range they took."""
    customer = make_customer("C-90201", "Aggregated Cloud AB")
    services = [
        Service.objects.create(customer=customer, name=f"service-{n}").pk for n in range(SERVICES)
    ]
    per_hour = count // HOURS
    sender = Sender.named(Sender.IMPORT).pk
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM usage_usagerecord")
        low = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute(FILL_POSTGRESQL, [customer.pk, services, sender, count, per_hour])
        else:
            cursor.execute(
                FILL_SQLITE, [count, customer.pk, str(services), per_hour, per_hour, sender]
            )
        cursor.execute("SELECT MAX(id) FROM usage_usagerecord")
        return customer, low, cursor.fetchone()[0]


def aggregation_per_second(count: int) -> float:
    start = time.perf_counter()
    counted = aggregate_usage()
    elapsed = time.perf_counter() - start
    assert counted == count, f"counted {counted:,} of {count:,} records"
    return count / elapsed


def bare_per_second(low: int, high: int) -> float:
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BARE[connection.vendor], [low, high])
    return (high - low) / (time.perf_counter() - start)


def rewind(customer: Customer, low: int) -> None:
    """Empty the customer's rollup and move the cursor back to before its records, so that the
    next run counts the same rows again."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM usage_dailyusage WHERE customer_id = %s", [customer.pk])
        cursor.execute("UPDATE usage_aggregationcursor SET last_record_id = %s", [low])
