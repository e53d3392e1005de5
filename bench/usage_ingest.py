"""Usage ingest: records a second through POST /api/v1/usage/ in batches of 5,000, against a
bare psycopg COPY of the same rows into the same table (SQLite has no COPY: there the baseline
is a bare executemany INSERT).

The requests go through Django's test client: the whole middleware stack, the view, JSON
parsing, validation and the insert, in-process; no network and no HTTP server. They are sent
with a sender's token limited to the two customers (usage.models.senders): the token lookup,
the scope check of every record and the sender's day counted once a batch are measured too.
The bodies are serialized beforehand (that is the sender's work). The baseline gets rows
already resolved to ids and typed values, so the ratio is what validation, services and
duplicate checks cost.
"""

import datetime
import json
import time
from decimal import Decimal

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import Customer
from bench.measure import BenchError, make_customer, row
from usage.models import Metric, Service
from usage.services import create_ingest_token

BATCH = 5_000
BATCHES = {"postgresql": 20, "sqlite": 4}  # 100,000 and 20,000 records
SERVICES = ["k8s-prod-eu1", "k8s-prod-us1", "web-frontend", "db-primary", "backups"]
METRICS = list(Metric.values)
GOAL = 50_000  # records/s through the API, on PostgreSQL (issue 10)
COLUMNS = 'customer_id, service_id, metric, external_id, quantity, start, "end", resource'


def run() -> list[dict]:
    customers = [make_customer("C-90301", "Metered Cloud AB"), make_customer("C-90302", "Ops AB")]
    database = connection.vendor
    batches = BATCHES.get(database, BATCHES["sqlite"])
    records = [make_records(customers, "api", n) for n in range(batches)]
    bodies = [json.dumps({"records": batch}).encode() for batch in records]
    token, secret = create_ingest_token(name="bench-collector", customers=customers)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    api = per_second(client, bodies, expect_accepted=BATCH)
    again = per_second(client, bodies, expect_accepted=0)
    baseline = bare_insert_per_second(
        [rows_of(make_records(customers, "bare", n), token.sender_id) for n in range(batches)]
    )
    total = batches * BATCH
    baseline_name = "bare COPY" if database == "postgresql" else "bare executemany INSERT"
    return [
        row(
            f"Usage ingest API, {total:,} records in batches of {BATCH:,} ({database}; "
            f"baseline: {baseline_name} of the same rows)",
            api,
            "records/s",
            baseline=baseline,
            goal=f"≥ {GOAL:,}/s on PostgreSQL",
            ok=api >= GOAL,
        ),
        row(
            f"Usage ingest API, the same batches again: all duplicates ({database})",
            again,
            "records/s",
            baseline=api,
            goal="≥ new records",
            ok=again >= api,
        ),
    ]


def make_records(customers, prefix: str, batch: int) -> list[dict]:
    """Hourly records of the last 30 days (inside the API's window, USAGE_ACCEPT_DAYS), spread
    over customers, services and metrics."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - datetime.timedelta(days=30)
    records = []
    for k in range(BATCH):
        start = hour + datetime.timedelta(hours=(batch * BATCH + k) % 700)
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


def per_second(client: Client, bodies: list[bytes], *, expect_accepted: int) -> float:
    start = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/usage/", body, content_type="application/json")
        if response.status_code != 200 or response.json()["accepted"] != expect_accepted:
            raise BenchError(
                f"POST /api/v1/usage/ answered {response.status_code}: {response.content[:200]}"
            )
    return len(bodies) * BATCH / (time.perf_counter() - start)


def rows_of(records: list[dict], sender_id: int) -> list[tuple]:
    """The records as the table's typed columns (the services exist after the API run)."""
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


def bare_insert_per_second(batches: list[list[tuple]]) -> float:
    """One transaction a batch, as the API commits one a request."""
    start = time.perf_counter()
    for rows in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql = f"COPY usage_usagerecord ({COLUMNS}, received_at, sender_id) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for values in rows:
                        copy.write_row(values)
            else:
                placeholders = ", ".join(["%s"] * 10)
                cursor.executemany(
                    f"INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id) "
                    f"VALUES ({placeholders})",
                    [sqlite_values(values) for values in rows],
                )
    return sum(len(rows) for rows in batches) / (time.perf_counter() - start)


def sqlite_values(values: tuple) -> tuple:
    adapt = connection.ops.adapt_datetimefield_value
    *head, quantity, start, end, resource, received_at, sender_id = values
    return (*head, str(quantity), adapt(start), adapt(end), resource, adapt(received_at), sender_id)
