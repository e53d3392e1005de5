"""Usage aggregation at BENCH_SCALE raw records (10 million by default; bench/scale.py).

Throughput: records a second rolled into the daily rollup by aggregate_usage(), against a bare
INSERT ... SELECT ... GROUP BY of the same rows into the same (emptied) rollup table, in one
statement: what remains is the cost of the aggregation's own machinery (batches, the cursor
and its lock, the bound on a month, counting, ON CONFLICT). Goal: within 1.2 times the bare
statement. The two runs alternate over the same rows.

Incremental: a run after 1,000 new records, when the table holds a tenth of the records and
when it holds all of them. A run reads the new records and the rollup rows of their months,
never the history: the two must cost the same (goal: within 1.2 times), measured whole and in
its SQL statements alone (a run is three short transactions: on a shared machine the flush of
their commits to disk is most of the difference between two runs).

The records (a year of records over 8 services and 4 metrics, in the order of time, as they
arrive) are made in SQL, then the planner's statistics gathered.
"""

import time

from django.db import connection, transaction

from accounts.models import Customer
from bench import scale
from bench.measure import analyze, make_customer, row
from usage.aggregation import aggregate_usage
from usage.models import Sender, Service

SQLITE_RECORDS = 200_000  # SQLite's file, written by one process, is not meant for more
ROUNDS = 3
INCREMENTAL_ROUNDS = 11
NEW_RECORDS = 1_000
SERVICES = 8
HOURS = 365 * 24

# Record n (numbered from 1) is service n mod 8, metric n/8 mod 4, in hour n / per_hour.
FILL_POSTGRESQL = """
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %(customer)s, (%(services)s::bigint[])[1 + n %% 8],
       (ARRAY['cpu', 'memory', 'storage', 'bandwidth'])[1 + n / 8 %% 4],
       %(prefix)s || n, (n %% 1000) / 100.0, at, at + interval '1 hour', '', now(),
       %(sender)s
FROM generate_series(%(first)s, %(last)s) AS n,
     LATERAL (SELECT timestamptz '2025-11-01 00:00Z'
                     + (LEAST(n, %(hour_of)s) / %(per_hour)s) * interval '1 hour' AS at) AS t
"""

FILL_SQLITE = """
WITH RECURSIVE numbers(n) AS (
    SELECT %(first)s UNION ALL SELECT n + 1 FROM numbers WHERE n < %(last)s
)
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %(customer)s, json_extract(%(services)s, '$[' || (n %% 8) || ']'),
       json_extract('["cpu", "memory", "storage", "bandwidth"]', '$[' || (n / 8 %% 4) || ']'),
       %(prefix)s || n, (n %% 1000) / 100.0,
       datetime('2025-11-01', '+' || (min(n, %(hour_of)s) / %(per_hour)s) || ' hours'),
       datetime('2025-11-01', '+' || (min(n, %(hour_of)s) / %(per_hour)s + 1) || ' hours'),
       '', datetime('now'), %(sender)s
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


class Records:
    """A customer's raw records, written in steps; new ones always fall in the latest hour."""

    def __init__(self, count: int):
        self.customer = make_customer("C-90201", "Aggregated Cloud AB")
        services = [
            Service.objects.create(customer=self.customer, name=f"service-{n}").pk
            for n in range(SERVICES)
        ]
        self.services = services if connection.vendor == "postgresql" else str(services)
        self.per_hour = max(1, count // HOURS)
        self.written = 0  # records of the year, numbered 1 to `written`
        self.new = 0  # records sent since, numbered apart

    def write(self, count: int, *, new: bool = False) -> None:
        prefix, first = ("new-", self.new + 1) if new else ("agg-", self.written + 1)
        fill = FILL_POSTGRESQL if connection.vendor == "postgresql" else FILL_SQLITE
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                fill,
                {
                    "customer": self.customer.pk,
                    "services": self.services,
                    "prefix": prefix,
                    "first": first,
                    "last": first + count - 1,
                    # New records all fall in the latest hour of the year written so far.
                    "hour_of": self.written if new else first + count - 1,
                    "per_hour": self.per_hour,
                    "sender": Sender.named(Sender.IMPORT).pk,
                },
            )
        if new:
            self.new += count
        else:
            self.written += count


def run() -> list[dict]:
    database = connection.vendor
    count = scale.raw_records() if database == "postgresql" else SQLITE_RECORDS
    aggregate_usage()  # what other benchmarks left: not part of the measurement
    low = highest_record_id()
    records = Records(count)
    records.write(count // 10)
    analyze()
    aggregate_usage()
    at_a_tenth = incremental_ms(records)
    records.write(count - count // 10)
    analyze()
    high = highest_record_id()
    ours, bare = [], []
    for _ in range(ROUNDS):
        rewind(records.customer, low)
        bare.append(bare_per_second(low, high))
        rewind(records.customer, low)
        ours.append(aggregation_per_second(high - low))
    analyze()  # the rounds' deleted rollup rows, as autovacuum would have cleared them by now
    at_all = incremental_ms(records)
    best, baseline = max(ours), max(bare)
    size, tenth = scale.label(count), scale.label(count // 10)
    return [
        row(
            f"Usage aggregation, {size} raw records into the daily rollup ({database}; "
            "baseline: a bare INSERT ... SELECT ... GROUP BY of the same rows)",
            best,
            "records/s",
            baseline=baseline,
            goal="within 1.2x the bare statement",
            ok=best * 1.2 >= baseline,
        ),
        row(
            f"Usage aggregation, a run after {NEW_RECORDS:,} new records at {size} records "
            f"({database}; baseline: the same at {tenth})",
            at_all[0],
            "ms",
            baseline=at_a_tenth[0],
            goal="ratio ≤ 1.2",
            ok=at_all[0] <= 1.2 * at_a_tenth[0],
        ),
        row(
            f"Usage aggregation, the same runs: their SQL statements alone, at {size} "
            f"(baseline: at {tenth})",
            at_all[1],
            "ms",
            baseline=at_a_tenth[1],
            goal="ratio ≤ 1.2",
            ok=at_all[1] <= 1.2 * at_a_tenth[1],
        ),
    ]


def highest_record_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM usage_usagerecord")
        return cursor.fetchone()[0]


def incremental_ms(records: Records) -> tuple[float, float]:
    """The best of several runs, each after NEW_RECORDS new records (as the throughput takes
    the best round: on a shared machine the slower ones measure the neighbours): the whole run,
    and its statements alone (without the commits, whose flush to disk is the same for any
    size and varies most with the neighbours' load)."""
    runs, statements = [], []
    for _ in range(INCREMENTAL_ROUNDS):
        records.write(NEW_RECORDS, new=True)
        spent: list[float] = []

        def timed(execute, sql, params, many, context, spent=spent):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent.append(time.perf_counter() - start)

        start = time.perf_counter()
        with connection.execute_wrapper(timed):
            counted = aggregate_usage()
        runs.append((time.perf_counter() - start) * 1000)
        statements.append(sum(spent) * 1000)
        assert counted == NEW_RECORDS, f"counted {counted:,} of {NEW_RECORDS:,} new records"
    return min(runs), min(statements)


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
