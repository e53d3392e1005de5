"""Raw usage records -> the daily rollup, in SQL, each record counted exactly once.

The cursor (AggregationCursor, one row) holds the highest record id counted so far. A run
reads the highest id that is safe to count, then rolls the records above the cursor into
DailyUsage batch by batch: one INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE per
batch, in the same transaction as the cursor's move, with the cursor row locked.

Why each record counts once:
- two runs at once: the second waits for the cursor row, then starts where the first ended;
- records that arrive while it runs: ids come from a sequence, but transactions commit in any
  order, so a record with a lower id may become visible after one with a higher id. On
  PostgreSQL every ingest holds a shared advisory lock for its whole transaction, and the
  aggregation takes it exclusively just to read the highest id: by then every record with an
  id up to it has committed (or never will), and later ingests draw higher ids. SQLite runs
  one writer at a time, so ids there commit in order;
- late records for old days simply add to their day's row.
"""

from django.db import connection, transaction

from usage.models import AggregationCursor

# The advisory lock that ingests share and the aggregation takes alone (billing's Stripe
# locks use another namespace).
USAGE_LOCKS = 0x05A6E
RECORD_IDS = 1

BATCH_SIZE = 200_000  # records per statement: big enough to be fast, short transactions

ROLL_UP_POSTGRESQL = """
WITH batch AS (
    SELECT customer_id, service_id, metric, (start AT TIME ZONE 'UTC')::date AS day,
           SUM(quantity) AS quantity, COUNT(*) AS records
    FROM usage_usagerecord
    WHERE id > %s AND id <= %s
    GROUP BY 1, 2, 3, 4
), rolled_up AS (
    INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
    SELECT customer_id, service_id, metric, day, quantity FROM batch
    ON CONFLICT (customer_id, service_id, metric, day)
    DO UPDATE SET quantity = usage_dailyusage.quantity + EXCLUDED.quantity
)
SELECT COALESCE(SUM(records), 0) FROM batch
"""

# SQLite keeps decimals as floating point numbers and stores datetimes as UTC text
# ("2026-11-20 13:00:00"), so date(start) is the UTC day. The sum is taken in whole
# millionths (exact) and every stored total is rounded to the 6 places of the column, which
# keeps daily totals exact up to 10^9.
ROLL_UP_SQLITE = """
INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
SELECT customer_id, service_id, metric, date(start),
       SUM(CAST(ROUND(quantity * 1000000) AS INTEGER)) / 1000000.0
FROM usage_usagerecord
WHERE id > %s AND id <= %s
GROUP BY 1, 2, 3, 4
ON CONFLICT (customer_id, service_id, metric, day)
DO UPDATE SET quantity = ROUND(usage_dailyusage.quantity + excluded.quantity, 6)
"""


def mark_ingest_in_flight() -> None:
    """Called by an ingest's transaction before its records take ids (see the module)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [USAGE_LOCKS, RECORD_IDS])


def aggregate_usage(*, batch_size: int = BATCH_SIZE) -> int:
    """Roll every record not yet counted into DailyUsage; returns how many were counted."""
    upper = _settled_record_id()
    counted = 0
    while (batch := _roll_up_next_batch(upper, batch_size)) is not None:
        counted += batch
    return counted


def _settled_record_id() -> int:
    """The highest record id up to which every record has committed."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Waits for the ingests in flight; new ones wait for this short transaction.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [USAGE_LOCKS, RECORD_IDS])
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM usage_usagerecord")
        return cursor.fetchone()[0]


def _batch_end(cursor, low: int, upper: int, batch_size: int) -> int:
    """The id of the `batch_size`-th record above `low`, or `upper` when fewer are left.

    Batches count records, not ids: ids have gaps (a duplicate skipped by ON CONFLICT still
    draws one from the sequence, a rolled-back ingest leaves its ids unused), and a batch of
    ids would walk every gap a statement at a time. One probe of the primary key's index."""
    cursor.execute(
        "SELECT id FROM usage_usagerecord WHERE id > %s AND id <= %s ORDER BY id LIMIT 1 OFFSET %s",
        [low, upper, batch_size - 1],
    )
    row = cursor.fetchone()
    return row[0] if row else upper


def _roll_up_next_batch(upper: int, batch_size: int) -> int | None:
    """Count the next batch of records above the cursor (up to `upper`) and move the cursor past
    them, in one transaction. None when there is nothing left to count."""
    with transaction.atomic():
        # A second run at the same time waits here, then reads where the first one ended.
        cursor_row, _ = AggregationCursor.objects.select_for_update().get_or_create(pk=1)
        low = cursor_row.last_record_id
        if low >= upper:
            return None
        with connection.cursor() as cursor:
            high = _batch_end(cursor, low, upper, batch_size)
            if connection.vendor == "postgresql":
                cursor.execute(ROLL_UP_POSTGRESQL, [low, high])
            else:
                cursor.execute(ROLL_UP_SQLITE, [low, high])
                cursor.execute(
                    "SELECT COUNT(*) FROM usage_usagerecord WHERE id > %s AND id <= %s",
                    [low, high],
                )
            counted = int(cursor.fetchone()[0])
        cursor_row.last_record_id = high
        cursor_row.save(update_fields=["last_record_id", "updated_at"])
    return counted
