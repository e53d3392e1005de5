"""Raw usage of invoiced months out of the database and into storage, and back (PostgreSQL).

Archiving a month (`archive_month`) takes four steps, so that the raw table is locked for a
moment only, never while the records are written:
1. check the month (`refusal`): over, past the ingest API's window (USAGE_ACCEPT_DAYS: a
   record of it now comes only as a backfill), invoiced for every customer with records in
   it, every record counted by the aggregation, none held back, and nothing that a room above
   keeps it for (billing: late usage of it waiting for an invoice, `keep_raw_records_while`);
2. DETACH its partition, in a transaction that checks again that every record in it is
   counted: the detach waits for the ingests in flight, and records that arrive afterwards go
   to the default partition, so what the detached table holds is final;
3. write the table (COPY ... TO STDOUT, CSV with a header naming the columns, gzip) to the
   storage STORAGES["usage_archive"] (a folder, or S3: settings.USAGE_ARCHIVE_URL);
4. record it (ArchivedMonth: file, records, size, SHA-256 of the file) and DROP the table, in
   one transaction. A run stopped after step 2 leaves the table detached: the next run writes
   it (a failure within step 3 attaches it again).

Nothing that pages, CSVs or invoices read changes: they read the rollup, never raw records.
Record keys (usage_recordkey) stay, so an id of an archived month sent again is still a
duplicate or a conflict. Restoring (`restore_month`) checks the file's SHA-256 first (a file
that does not match changes nothing), creates the month's partition (or loads into the one
that records arrived for since), COPYs the rows back with their ids and deletes the
ArchivedMonth row, and the file once that has committed. The ids are below the aggregation's
cursor (step 2 checked it), so the rollup never counts them again.
"""

import csv
import datetime
import gzip
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Customer
from core.dates import first_of_month, last_of_month
from usage.aggregation import USAGE_LOCKS
from usage.models import (
    AggregationCursor,
    ArchivedMonth,
    ClosedMonth,
    DailyUsage,
    HeldRecord,
    UsageRecord,
)
from usage.partitions import (
    bounds,
    create_partition,
    monthly_tables,
    next_month,
    partition_name,
)

STORAGE = "usage_archive"
ARCHIVING = 2  # the advisory lock (in USAGE_LOCKS) that one archive or restore holds at a time
CHUNK = 1 << 20
DETACH_WAIT_MS = 5_000  # how long the detach waits for the raw table (ingest waits behind it)
LOCK_NOT_AVAILABLE = "55P03"
NAMED = 5  # customers a refusal names before it counts the rest

# Why a room above usage keeps a month's raw records (a reason, or "" for none): see
# keep_raw_records_while.
_keepers: list[Callable[[datetime.date], str]] = []


class NotPartitioned(Exception):
    """Archiving needs the raw table's monthly partitions: PostgreSQL only."""


class ArchiveRefused(Exception):
    """A month that cannot be archived or restored now, and why."""

    def __init__(self, month: datetime.date, reason: str):
        super().__init__(f"{month:%Y-%m}: {reason}")
        self.month, self.reason = month, reason


def keep_raw_records_while(check: Callable[[datetime.date], str]) -> None:
    """Register `check(month)`: why a month's raw records must stay in the database ("" when
    they need not). Billing registers its own (late usage of the month not billed yet)."""
    if check not in _keepers:
        _keepers.append(check)


def columns() -> list[str]:
    """The raw table's columns, as the files name them in their header."""
    return [field.column for field in UsageRecord._meta.concrete_fields]


def candidates(before: datetime.date) -> list[datetime.date]:
    """The months before `before` whose raw records have a table of their own (a partition, or
    one detached by a run that stopped): what archive_usage looks at."""
    _require_partitions()
    return sorted(month for month in monthly_tables() if month < first_of_month(before))


def archived_before(before: datetime.date):
    return ArchivedMonth.objects.filter(month__lt=first_of_month(before)).order_by("month")


def refusal(month: datetime.date) -> str:
    """Why the month's raw records may not be archived now; "" when they may."""
    _require_partitions()
    this_month = first_of_month(timezone.now().date())
    if month == this_month:
        return "the current month: it is not over, usage still arrives for it"
    if month > this_month:
        return "a future month"
    accepted_until = _utc(next_month(month)) + datetime.timedelta(days=settings.USAGE_ACCEPT_DAYS)
    if timezone.now() < accepted_until:
        return (
            f"the ingest API takes records of it until {accepted_until:%Y-%m-%d %H:%M} UTC "
            f"(USAGE_ACCEPT_DAYS={settings.USAGE_ACCEPT_DAYS})"
        )
    archived = ArchivedMonth.objects.filter(month=month).first()
    tables = monthly_tables()
    if archived is not None:
        since = " (records that arrived for it since are in a partition again)"
        return (
            f"already archived, to {archived.file} on {archived.archived_at:%Y-%m-%d %H:%M} UTC"
            f"{since if month in tables else ''}: restore_usage {month:%Y-%m} first to archive "
            "it again"
        )
    if month not in tables:
        return "no partition of its own: no raw records to archive"
    if not tables[month]:
        return ""  # detached by a run that stopped before writing it: checked then
    with connection.cursor() as cursor:
        reasons = [
            _not_invoiced(month),
            _unsettled(cursor, partition_name(month), month),
            *(check(month) for check in _keepers),
        ]
    return "; ".join(reason for reason in reasons if reason)


def _utc(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def _not_invoiced(month: datetime.date) -> str:
    # The month's records are all counted (or it is refused for that too), so its customers
    # are those with rollup rows in it: one probe of the rollup's (customer, day) index per
    # customer, not a scan of the month's records.
    used = DailyUsage.objects.filter(
        customer=OuterRef("pk"), day__range=(month, last_of_month(month))
    )
    numbers = list(
        Customer.objects.filter(Exists(used))
        .exclude(pk__in=ClosedMonth.objects.filter(month=month).values("customer_id"))
        .order_by("number")
        .values_list("number", flat=True)
    )
    if not numbers:
        return ""
    named = ", ".join(numbers[:NAMED]) + (
        f" and {len(numbers) - NAMED} more" if numbers[NAMED:] else ""
    )
    return f"not invoiced yet for {named} (issue_monthly_invoices --month {month:%Y-%m})"


def _unsettled(cursor, table: str, month: datetime.date) -> str:
    """Records of the table the rollup has not counted: above the cursor, or held back."""
    last = AggregationCursor.objects.filter(pk=1).values_list("last_record_id", flat=True).first()
    cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE id > %s", [last or 0])
    uncounted = cursor.fetchone()[0]
    held = HeldRecord.objects.filter(month=month).count()
    reasons = []
    if uncounted:
        reasons.append(f"{uncounted} records not counted into the rollup yet (aggregate_usage)")
    if held:
        reasons.append(f"{held} records held back by the aggregation (Admin › Held records)")
    return "; ".join(reasons)


def archive_month(month: datetime.date) -> ArchivedMonth:
    """Archive the month's raw records (see the module); raises ArchiveRefused with the
    reason, having changed nothing, for a month that may not be archived."""
    with _archiving(month):
        if reason := refusal(month):
            raise ArchiveRefused(month, reason)
        name = partition_name(month)
        if monthly_tables()[month]:
            _detach(month)
        try:
            file, records, size, sha256 = _write(month)
        except BaseException:
            _attach(month)
            raise
        with transaction.atomic(), connection.cursor() as cursor:
            archived = ArchivedMonth.objects.create(
                month=month, file=file, records=records, size=size, sha256=sha256
            )
            cursor.execute(f"DROP TABLE {name}")
    return archived


def _detach(month: datetime.date) -> None:
    name = partition_name(month)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The detach waits for the ingests in flight (they hold the raw table): whatever
            # they stored for the month is in the table now, and is checked below with the
            # rest. Every ingest that comes meanwhile queues behind it, so it waits only so
            # long for a long query on the raw table.
            cursor.execute(f"SET LOCAL lock_timeout = '{DETACH_WAIT_MS}ms'")
            cursor.execute(f"ALTER TABLE usage_usagerecord DETACH PARTITION {name}")
            if reason := _unsettled(cursor, name, month):
                raise ArchiveRefused(month, reason)  # rolled back: the partition stays
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise ArchiveRefused(
            month,
            f"the raw table stayed busy for {DETACH_WAIT_MS / 1000:g} s (a long query on it): "
            "nothing changed, try again",
        ) from None


def _attach(month: datetime.date) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE usage_usagerecord ATTACH PARTITION {partition_name(month)} "
            f"{bounds(month)}"
        )


def _write(month: datetime.date) -> tuple[str, int, int, str]:
    """Write the detached table to the archive storage: the stored file's name, its records,
    its size and SHA-256. Spooled to a local temporary file first (storages take a file)."""
    with tempfile.TemporaryFile() as spool:
        # mtime=0: the same records make the same file, whenever they are archived.
        with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6, mtime=0) as packed:
            records = copy_out(month, packed)
        size, sha256 = spool.tell(), _sha256(spool)
        spool.seek(0)
        file = storages[STORAGE].save(f"raw-usage/{month:%Y-%m}.csv.gz", File(spool))
    return file, records, size, sha256


def copy_out(month: datetime.date, packed) -> int:
    """COPY the month's table, as CSV with a header naming its columns, into `packed` (a gzip
    file); returns the records written."""
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns())
    sql = f"COPY {partition_name(month)} ({quoted}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            # COPY hands over a row at a time: gzip is fed a megabyte at a time instead.
            rows = bytearray()
            for row in copy:
                rows += row
                if len(rows) >= CHUNK:
                    packed.write(rows)
                    rows.clear()
            packed.write(rows)
        return cursor.cursor.rowcount


def _sha256(file) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while block := file.read(CHUNK):
        digest.update(block)
    return digest.hexdigest()


def restore_month(month: datetime.date) -> ArchivedMonth:
    """Bring an archived month's raw records back into the raw table, with their ids; returns
    the ArchivedMonth row it deleted. Raises ArchiveRefused, having changed nothing, for a
    month not archived, or a file missing, not matching its SHA-256 or naming columns the
    raw table no longer has."""
    with _archiving(month):
        archived = ArchivedMonth.objects.filter(month=month).first()
        if archived is None:
            raise ArchiveRefused(month, "not archived: its raw records are in the database")
        storage = storages[STORAGE]
        if not storage.exists(archived.file):
            raise ArchiveRefused(month, f"{archived.file} is missing from the archive storage")
        with storage.open(archived.file, "rb") as file:
            if _sha256(file) != archived.sha256:
                raise ArchiveRefused(
                    month,
                    f"{archived.file} does not match its SHA-256 ({archived.sha256}): the file "
                    "is damaged or was changed; nothing restored",
                )
            file.seek(0)
            header = _header(month, file)
        create_partition(month)  # or the one records that arrived since are in
        with transaction.atomic():
            with storage.open(archived.file, "rb") as file:
                loaded = _load(month, file, header)
            if loaded != archived.records:
                raise ArchiveRefused(
                    month, f"{archived.file} holds {loaded} records, not {archived.records}"
                )
            archived.delete()
            transaction.on_commit(lambda: storage.delete(archived.file))
    return archived


def _header(month: datetime.date, file) -> list[str]:
    """The columns the file's header names, each one the raw table still has. A column added
    to the table since is left to its database default (without one the load fails, in its
    transaction)."""
    with gzip.GzipFile(fileobj=file, mode="rb") as rows:
        header = next(csv.reader([rows.readline().decode()]))
    if unknown := set(header) - set(columns()):
        raise ArchiveRefused(
            month, f"the file has columns the raw table no longer has: {', '.join(sorted(unknown))}"
        )
    return header


def _load(month: datetime.date, file, header: list[str]) -> int:
    """COPY the file's records (after its header) into the month's partition; how many."""
    # gzip checks its CRC-32 at the end of the file: a file changed since it was checked
    # fails the COPY, and the transaction with it.
    quoted = ", ".join(connection.ops.quote_name(column) for column in header)
    sql = f"COPY {partition_name(month)} ({quoted}) FROM STDIN WITH (FORMAT csv)"
    with gzip.GzipFile(fileobj=file, mode="rb") as rows, connection.cursor() as cursor:
        rows.readline()
        with cursor.cursor.copy(sql) as copy:
            while block := rows.read(CHUNK):
                copy.write(block)
        return cursor.cursor.rowcount


def _require_partitions() -> None:
    if connection.vendor != "postgresql":
        raise NotPartitioned(
            "Raw usage is partitioned by month on PostgreSQL only: this database "
            f"({connection.vendor}) keeps one raw table, with no month to archive or restore"
        )


@contextmanager
def _archiving(month: datetime.date) -> Iterator[None]:
    """One archive or restore at a time (a session lock: the work spans transactions)."""
    _require_partitions()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [USAGE_LOCKS, ARCHIVING])
        if not cursor.fetchone()[0]:
            raise ArchiveRefused(month, "another archive_usage or restore_usage is running")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [USAGE_LOCKS, ARCHIVING])
