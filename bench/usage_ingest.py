"""Usage ingest: records a second through POST /api/v1/usage/ in batches of 5,000 and 10,000,
against a bare psycopg COPY of the same rows into the same table (SQLite has no COPY: there the
baseline is a bare executemany INSERT). Measured with the raw table empty and again when it
holds BENCH_SCALE records and their keys (10 million by default; bench/scale.py): the rate
must hold as the table grows (issue 23).

On PostgreSQL two more bare COPYs take turns with them, both in the binary format the API
writes (the baseline is psycopg's default, text): of the same rows, the API's own format's
baseline; and of the same rows followed by their keys into the key table, the least that any
design keeping one key per record in a table of its own (what refuses an id again across the
monthly partitions) adds to a bare COPY. Its ratio to the binary COPY of the rows is the
ceiling of the API's ratio to a bare COPY in its own format.

The requests go through Django's test client: the whole middleware stack, the view, JSON
parsing, validation and the insert, in-process; no network and no HTTP server. They are sent
with a sender's token limited to the two customers (usage.models.senders): the token lookup,
the scope check of every record and the sender's day counted once a batch are measured too.
The bodies are serialized beforehand (that is the sender's work). The baseline gets rows
already resolved to ids and typed values, written by psycopg's own row writer, so the ratio is
what decoding, validation, services, keys and duplicate checks cost. The raw tables are
emptied before and after: the benchmarks that run after this one find them as before. The
API and the baseline take turns batch by batch, after a first batch that warms both.
"""

import datetime
import functools
import json
import time
from decimal import Decimal

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Customer
from bench import scale
from bench.measure import BenchError, analyze, make_customer, row
from usage.ingest import KEY_TYPES, RECORD_TYPES, digest
from usage.models import Metric, Service
from usage.services import create_ingest_token

RECORDS = {"postgresql": 100_000, "sqlite": 20_000}  # sent at each size of batch
BATCHES = [5_000, 10_000]
SERVICES = ["k8s-prod-eu1", "k8s-prod-us1", "web-frontend", "db-primary", "backups"]
METRICS = list(Metric.values)
GOAL = 100_000  # records/s through the API, on PostgreSQL (issue 23)
GOAL_RATIO = 0.8  # of the bare COPY
COLUMNS = 'customer_id, service_id, metric, external_id, quantity, start, "end", resource'

# BENCH_SCALE records of an old year and their keys, made in SQL (the default partition).
FILL_POSTGRESQL = """
WITH records AS (
    INSERT INTO usage_usagerecord
        (customer_id, service_id, metric, external_id, quantity, start, "end", resource,
         received_at, sender_id)
    SELECT %(customer)s, %(service)s, 'cpu', 'fill-' || n, 1, at, at + interval '1 hour', '',
           now(), %(sender)s
    FROM generate_series(1, %(count)s) AS n,
         LATERAL (SELECT timestamptz '2024-01-01 00:00Z' + (n %% 8760) * interval '1 hour' AS at)
             AS t
    RETURNING customer_id, external_id
)
INSERT INTO usage_recordkey (customer_id, external_id, digest)
SELECT customer_id, external_id, 0 FROM records
"""


def run() -> list[dict]:
    customers = [make_customer("C-90301", "Metered Cloud AB"), make_customer("C-90302", "Ops AB")]
    database = connection.vendor
    token, secret = create_ingest_token(name="bench-collector", customers=customers)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    total = RECORDS.get(database, RECORDS["sqlite"])
    baseline_name = "bare COPY" if database == "postgresql" else "bare executemany INSERT"
    # A batch first, untimed: it creates the services (the baseline's rows name them) and
    # warms both paths' caches.
    warm_up = make_records(customers, "warm-up", 0, BATCHES[0])
    post(client, json.dumps({"records": warm_up}).encode(), len(warm_up))
    empty_raw_tables()
    rows = []
    rates = {}
    for size in BATCHES:
        rate, bodies = measure(client, customers, token.sender_id, f"empty-{size}", size)
        api = rates[size] = rate["api"]
        rows.append(
            ingest_row(
                f"Usage ingest API, {total:,} records in batches of {size:,}, empty table "
                f"({database}; baseline: {baseline_name} of the same rows)",
                api,
                rate["bare"],
            )
        )
        if size == BATCHES[0] and database == "postgresql":
            rows.append(
                row(
                    f"Usage ingest API, batches of {size:,}, empty table, against a bare COPY of "
                    "the same rows in the binary format the API writes",
                    api,
                    "records/s",
                    baseline=rate["binary"],
                    goal=f"≥ {GOAL_RATIO}× the baseline",
                    ok=api >= GOAL_RATIO * rate["binary"],
                )
            )
            rows.append(
                row(
                    "Ceiling of that ratio: a bare binary COPY of the same rows and then of their "
                    f"keys, batches of {size:,}, empty table (baseline: the binary COPY of the "
                    "rows)",
                    rate["keyed"],
                    "records/s",
                    baseline=rate["binary"],
                    goal=f"≥ {GOAL_RATIO}× (else no key table lets the API reach it)",
                    ok=rate["keyed"] >= GOAL_RATIO * rate["binary"],
                )
            )
        if size == BATCHES[0]:
            start = time.perf_counter()
            for body in bodies:
                post(client, body, 0)
            again = len(bodies) * size / (time.perf_counter() - start)
            rows.append(
                row(
                    f"Usage ingest API, the same batches again: all duplicates ({database})",
                    again,
                    "records/s",
                    baseline=api,
                    goal="≥ 0.8× new records",
                    ok=again >= 0.8 * api,
                )
            )
    if database == "postgresql":
        count = scale.raw_records()
        fill(customers[0], token.sender_id, count)
        size = BATCHES[0]
        rate, _ = measure(client, customers, token.sender_id, "full", size)
        api, baseline = rate["api"], rate["bare"]
        held = f"{scale.label(count)} records and keys"
        rows.append(
            ingest_row(
                f"Usage ingest API, {total:,} records in batches of {size:,}, the table holding "
                f"{held} ({database}; baseline: {baseline_name} of the same rows)",
                api,
                baseline,
            )
        )
        rows.append(
            row(
                f"Usage ingest API at {held} vs an empty table (batches of {size:,})",
                api,
                "records/s",
                baseline=rates[size],
                goal="≥ 0.8× the empty table's rate",
                ok=api >= 0.8 * rates[size],
            )
        )
    empty_raw_tables()
    return rows


def measure(
    client: Client, customers, sender_id: int, prefix: str, size: int
) -> tuple[dict[str, float], list[bytes]]:
    """The records/s of each way of storing RECORDS records in batches of `size`, the ways
    taking turns batch by batch so that a busy moment on the machine hits them alike: "api",
    "bare" (the baseline) and, on PostgreSQL, "binary" (the same in the binary format) and
    "keyed" (that followed by the rows' keys); and the API's bodies."""
    count = RECORDS.get(connection.vendor, RECORDS["sqlite"]) // size

    def batches(way: str) -> list[list[tuple]]:
        return [
            rows_of(make_records(customers, f"{way}-{prefix}", n, size), sender_id)
            for n in range(count)
        ]

    bodies = [
        json.dumps({"records": make_records(customers, f"api-{prefix}", n, size)}).encode()
        for n in range(count)
    ]
    ways = {
        "api": [functools.partial(post, client, body, size) for body in bodies],
        "bare": [functools.partial(bare_insert, rows) for rows in batches("bare")],
    }
    if connection.vendor == "postgresql":
        ways["binary"] = [
            functools.partial(bare_insert, rows, binary=True) for rows in batches("binary")
        ]
        ways["keyed"] = [
            functools.partial(bare_insert, rows, keys_of(rows), binary=True)
            for rows in batches("keyed")
        ]
    seconds = dict.fromkeys(ways, 0.0)
    for n in range(count):
        for way, calls in ways.items():
            start = time.perf_counter()
            calls[n]()
            seconds[way] += time.perf_counter() - start
    return {way: count * size / spent for way, spent in seconds.items()}, bodies


def ingest_row(name: str, api: float, baseline: float) -> dict:
    return row(
        name,
        api,
        "records/s",
        baseline=baseline,
        goal=f"≥ {GOAL:,}/s and ≥ {GOAL_RATIO}× the baseline on PostgreSQL",
        # SQLite is the embedded demo: one writer, no goal.
        ok=connection.vendor != "postgresql" or (api >= GOAL and api >= GOAL_RATIO * baseline),
    )


def make_records(customers, prefix: str, batch: int, size: int) -> list[dict]:
    """Hourly records of the last 30 days (inside the API's window, USAGE_ACCEPT_DAYS), spread
    over customers, services and metrics."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - datetime.timedelta(days=30)
    records = []
    for k in range(size):
        start = hour + datetime.timedelta(hours=(batch * size + k) % 700)
        records.append(
            {
                "id": f"{prefix}-{batch}-{k}",
                "customer": customers[k % 2].number,
                "service": SERVICES[k % len(SERVICES)],
                "metric": METRICS[(k // len(SERVICES)) % len(METRICS)],
                "quantity": f"{k % 977}.{k % 1000:03d}",
                "start": start.isoformat().replace("+00:00", "Z"),
                "end": (start + datetime.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                "resource": f"vm-{k % 300}",
            }
        )
    return records


def post(client: Client, body: bytes, accepted: int) -> None:
    response = client.post("/api/v1/usage/", body, content_type="application/json")
    if response.status_code != 200 or response.json()["accepted"] != accepted:
        raise BenchError(
            f"POST /api/v1/usage/ answered {response.status_code}: {response.content[:200]}"
        )


def rows_of(records: list[dict], sender_id: int) -> list[tuple]:
    """The records as the table's typed columns."""
    customers = dict(Customer.objects.values_list("number", "pk"))
    services = {
        (c, name): pk for c, name, pk in Service.objects.values_list("customer", "name", "pk")
    }
    received_at = timezone.now()
    return [
        (
            customers[r["customer"]],
            services[customers[r["customer"]], r["service"]],
            r["metric"],
            r["id"],
            Decimal(r["quantity"]),
            datetime.datetime.fromisoformat(r["start"]),
            datetime.datetime.fromisoformat(r["end"]),
            r["resource"],
            received_at,
            sender_id,
        )
        for r in records
    ]


def keys_of(rows: list[tuple]) -> list[tuple]:
    """The rows' keys and content digests, as the key table holds them."""
    return [(values[0], values[3], digest(values[:8])) for values in rows]


def bare_insert(rows: list[tuple], keys: list[tuple] = (), *, binary: bool = False) -> None:
    """One transaction a batch, as the API commits one a request; then `keys`, if any, copied
    into the key table (PostgreSQL). `binary`: COPY's binary format, as the API writes it."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copies = [
                (f"usage_usagerecord ({COLUMNS}, received_at, sender_id)", RECORD_TYPES, rows)
            ]
            if keys:
                copies.append(
                    ("usage_recordkey (customer_id, external_id, digest)", KEY_TYPES, keys)
                )
            for table, types, values in copies:
                format_ = " (FORMAT BINARY)" if binary else ""
                with cursor.cursor.copy(f"COPY {table} FROM STDIN{format_}") as copy:
                    if binary:
                        copy.set_types(types)
                    for row_values in values:
                        copy.write_row(row_values)
        else:
            placeholders = ", ".join(["%s"] * 10)
            cursor.executemany(
                f"INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id) "
                f"VALUES ({placeholders})",
                [sqlite_values(values) for values in rows],
            )


def sqlite_values(values: tuple) -> tuple:
    adapt = connection.ops.adapt_datetimefield_value
    *head, quantity, start, end, resource, received_at, sender_id = values
    return (*head, str(quantity), adapt(start), adapt(end), resource, adapt(received_at), sender_id)


def fill(customer: Customer, sender_id: int, count: int) -> None:
    """`count` records of 2024 and their keys, then the planner's statistics and a checkpoint
    (the measurements after it must not pay for writing the fill's pages to disk)."""
    service = Service.objects.get(customer=customer, name=SERVICES[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            FILL_POSTGRESQL,
            {"customer": customer.pk, "service": service.pk, "sender": sender_id, "count": count},
        )
    analyze()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def empty_raw_tables() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE usage_usagerecord, usage_recordkey")
        else:
            cursor.execute("DELETE FROM usage_usagerecord")
            cursor.execute("DELETE FROM usage_recordkey")
