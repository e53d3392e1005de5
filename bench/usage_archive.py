"""Archiving a month of raw usage and restoring it (PostgreSQL only: SQLite has no partitions).

A past month of BENCH_SCALE / 5 records (2 million by default; bench/scale.py), invoiced and
counted. Archive: records a second through archive_month (check, detach, COPY to gzip CSV, the
SHA-256, the storage, drop), against a bare COPY ... TO STDOUT of the same partition through
the same gzip into a file (fed a megabyte at a time, as the archive feeds it). Restore: records
a second through restore_month (the SHA-256, the partition, COPY back, the row count), against
a bare COPY ... FROM STDIN of the same file into a table like the raw one (its checks and
index). Goal for both: at least 0.8 times the bare COPY. The rounds alternate over
the same rows; the best of each is kept (on a shared machine the slower ones measure the
neighbours).
"""

import datetime
import gzip
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from bench import scale
from bench.measure import analyze, make_customer, row
from usage import archive
from usage.models import AggregationCursor, Sender, Service
from usage.partitions import create_partition
from usage.services import close_month

ROUNDS = 2
MONTH = datetime.date(2025, 6, 1)  # long past the ingest API's window

FILL = """
INSERT INTO usage_usagerecord
    (customer_id, service_id, metric, external_id, quantity, start, "end", resource, received_at,
     sender_id)
SELECT %(customer)s, %(service)s, (ARRAY['cpu', 'memory', 'storage', 'bandwidth'])[1 + n %% 4],
       'arc-' || n, (n %% 1000) / 100.0, at, at + interval '1 hour', 'vm-' || (n %% 500), now(),
       %(sender)s
FROM generate_series(1, %(count)s) AS n,
     LATERAL (SELECT timestamptz '2025-06-01 00:00Z'
                     + (n %% (30 * 24 * 60)) * interval '1 minute' AS at) AS t
"""


def run() -> list[dict]:
    if connection.vendor != "postgresql":
        return []
    count = max(scale.raw_records() // 5, 10_000)
    customer = make_customer("C-90301", "Archived Cloud AB")
    service = Service.objects.create(customer=customer, name="archived")
    create_partition(MONTH)
    with transaction.atomic(), connection.cursor() as cursor:
        sender = Sender.named(Sender.IMPORT).pk
        cursor.execute(
            FILL, {"customer": customer.pk, "service": service.pk, "sender": sender, "count": count}
        )
        # Counted: the aggregation's figures are another benchmark's.
        cursor.execute("SELECT MAX(id) FROM usage_usagerecord")
        AggregationCursor.objects.update_or_create(
            pk=1, defaults={"last_record_id": cursor.fetchone()[0]}
        )
    close_month(customer=customer, month=MONTH)
    analyze()
    ours_out, bare_out, ours_in, bare_in = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        storage = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder},
        }
        with override_settings(STORAGES={**settings.STORAGES, archive.STORAGE: storage}):
            bare_file = Path(folder) / "bare.csv.gz"
            for _ in range(ROUNDS):
                bare_out.append(count / _timed(_bare_copy_out, bare_file))
                ours_out.append(count / _timed(archive.archive_month, MONTH))
                bare_in.append(count / _timed(_bare_copy_in, bare_file))
                ours_in.append(count / _timed(archive.restore_month, MONTH))
    size = scale.label(count)
    return [
        row(
            f"Archive a month of {size} raw records (baseline: a bare COPY TO STDOUT of the "
            "partition through the same gzip to a file)",
            max(ours_out),
            "records/s",
            baseline=max(bare_out),
            goal="≥ 0.8x the bare COPY",
            ok=max(ours_out) >= 0.8 * max(bare_out),
        ),
        row(
            f"Restore a month of {size} raw records (baseline: a bare COPY FROM STDIN of the "
            "same file into a table like the raw one)",
            max(ours_in),
            "records/s",
            baseline=max(bare_in),
            goal="≥ 0.8x the bare COPY",
            ok=max(ours_in) >= 0.8 * max(bare_in),
        ),
    ]


def _timed(work, argument) -> float:
    start = time.perf_counter()
    work(argument)
    return time.perf_counter() - start


def _bare_copy_out(path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=6) as packed:
        archive.copy_out(MONTH, packed)


def _bare_copy_in(path: Path) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in archive.columns())
    with transaction.atomic(), connection.cursor() as cursor:
        # The raw table's columns, checks and index on id, as a partition has them.
        cursor.execute("CREATE TABLE bench_archive_copy (LIKE usage_usagerecord INCLUDING ALL)")
        sql = f"COPY bench_archive_copy ({quoted}) FROM STDIN WITH (FORMAT csv, HEADER)"
        with gzip.open(path, "rb") as rows, cursor.cursor.copy(sql) as copy:
            while block := rows.read(archive.CHUNK):
                copy.write(block)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_archive_copy")
