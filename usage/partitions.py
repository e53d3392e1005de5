"""The raw usage table's monthly partitions on PostgreSQL (SQLite keeps one table).

usage_usagerecord is partitioned by range of `start`: one partition a UTC month,
usage_usagerecord_pYYYY_MM, and usage_usagerecord_default for a record whose month has no
partition yet (a backfill of an old month, or a month the schedule has not reached). The
beat schedule runs ensure_partitions daily: it creates the partitions of this month and the
AHEAD months after it, and gives each month found in the default partition its own partition,
moving its records there with their ids. Records are refused as duplicates across partitions
by RecordKey (usage/models), not by the partitions. usage/archive.py detaches and drops the
partitions of invoiced months once they are written to storage, and brings them back.
"""

import datetime

from django.db import connection, transaction
from django.utils import timezone

from core.dates import first_of_month, last_of_month

AHEAD = 3  # months after this one that have their partition
DEFAULT = "usage_usagerecord_default"


def partition_name(month: datetime.date) -> str:
    return f"usage_usagerecord_p{month:%Y_%m}"


def next_month(month: datetime.date) -> datetime.date:
    return last_of_month(month) + datetime.timedelta(days=1)


def ensure_partitions(*, ahead: int = AHEAD) -> list[str]:
    """Create the partitions of this month, the `ahead` months after it and the months with
    records in the default partition; returns the names of those it created (none when they
    all exist, and always none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    month = first_of_month(timezone.now().date())
    months = {month}
    for _ in range(ahead):
        month = next_month(month)
        months.add(month)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT (date_trunc('month', start AT TIME ZONE 'UTC'))::date FROM {DEFAULT}"
        )
        months |= {row[0] for row in cursor.fetchall()}
    return [partition_name(month) for month in sorted(months) if create_partition(month)]


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def _range(month: datetime.date) -> tuple[str, str]:
    """The month's first moment and the next month's, as PostgreSQL reads a timestamptz."""
    return f"{month.isoformat()} 00:00+00", f"{next_month(month).isoformat()} 00:00+00"


def bounds(month: datetime.date) -> str:
    """The month's partition bounds, as CREATE and ATTACH PARTITION take them."""
    start, end = _range(month)
    return f"FOR VALUES FROM ('{start}') TO ('{end}')"


def monthly_tables() -> dict[datetime.date, bool]:
    """Each month that has a table of its own (usage_usagerecord_pYYYY_MM), and whether it is
    a partition of the raw table (a table detached by usage/archive.py is not)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.inhparent IS NOT NULL FROM pg_class c "
            "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
            "AND i.inhparent = 'usage_usagerecord'::regclass "
            "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
            "AND c.relname ~ '^usage_usagerecord_p[0-9]{4}_[0-9]{2}$'"
        )
        return {
            datetime.date(int(name[-7:-3]), int(name[-2:]), 1): attached
            for name, attached in cursor.fetchall()
        }


@transaction.atomic
def create_partition(month: datetime.date) -> bool:
    """Create a month's partition unless it exists, moving the month's records out of the
    default partition (PostgreSQL refuses a partition whose rows the default holds). The table
    is locked meanwhile: an ingest waits, then its records go to the new partition."""
    name = partition_name(month)
    with connection.cursor() as cursor:
        if _exists(cursor, name):
            return False
        cursor.execute("LOCK TABLE usage_usagerecord IN ACCESS EXCLUSIVE MODE")
        if _exists(cursor, name):  # created by another run while this one waited
            return False
        start, end = _range(month)
        cursor.execute("CREATE TEMPORARY TABLE usage_partition_move (LIKE usage_usagerecord)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE start >= %s AND start < %s RETURNING *) "
            "INSERT INTO usage_partition_move SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(f"CREATE TABLE {name} PARTITION OF usage_usagerecord {bounds(month)}")
        cursor.execute(
            "INSERT INTO usage_usagerecord SELECT * FROM usage_partition_move; "
            "DROP TABLE usage_partition_move"
        )
    return True
