"""Storing batches of usage records: the ingest API and `import_usage` share it.

Each record is first checked by usage.validation (the rules of DESIGN.md's "Metering
contract"); a batch with any invalid record stores nothing.

A record whose (customer, id) was already stored, or came earlier in the same batch, with the
same content is a duplicate: skipped and counted. The same (customer, id) with other content
(service, metric, quantity as stored, start, end or resource) is a conflict: the sender has a
bug, and keeping either silently would lose usage. The batch is refused (ConflictingBatch);
the import command stores the first and reports the others.

Each (customer, id) is stored once in RecordKey with a digest of its record's content, and the
record itself only when its key went in: on PostgreSQL the raw table is partitioned by month
(usage.partitions) and holds no unique key of its own, so the key table is what refuses an id
again whatever month its records start in. An id whose stored digest differs is a conflict.

The API's batches come decoded into typed records (usage.batch) and take a shorter road on
PostgreSQL (ingest_typed): each record is checked as it is copied into the raw table, then
the keys are copied into RecordKey; a batch that meets an id stored before takes the
road above, and one that might hold an invalid record is read again by usage.validation.

Every record is stored with its sender (usage.models.senders). A sender limited to some
customers has a batch naming any other refused whole (ForbiddenBatch), before anything else
about it is checked: it learns nothing about customers it may not send for.
"""

import dataclasses
import datetime
import functools
import hashlib
import struct
from collections import Counter
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from usage.aggregation import mark_ingest_in_flight
from usage.batch import CheckedBatch, TypedRecord, as_dict, open_batch
from usage.models import RecordKey, Sender, Service
from usage.validation import Invalid, Record, accepted_window, problem, validate


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    # The new records by customer (pk) and UTC month (its 1st day): what a backfill changes.
    months: dict[tuple[int, datetime.date], int] = dataclasses.field(
        default_factory=dict, compare=False
    )


class InvalidBatch(Exception):
    """At least one record is invalid; nothing of the batch was stored.

    `errors` lists every problem as {"index": i, "field": name, "error": message}, by index;
    `field` is None when the record itself is not an object."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} problem(s) in the batch")
        self.errors = errors


class ConflictingBatch(InvalidBatch):
    """At least one record reuses an id already received (or earlier in the batch) with other
    content; nothing of the batch was stored. `errors` name each such record's index."""


class ForbiddenBatch(InvalidBatch):
    """At least one record is for a customer the sender may not send usage for; nothing of the
    batch was stored. `errors` name each such record's index."""


CONFLICT = "already received with other content"
FORBIDDEN = "This sender may not send usage for this customer."


def ingest_records(
    records: list,
    *,
    sender: Sender | None = None,
    customers: frozenset[str] | None = None,
    backfill: bool = False,
) -> IngestResult:
    """Store a batch all-or-nothing, as sent by `sender` (None: the sender "import"): raises
    ForbiddenBatch if a record is for a customer number outside `customers` (None: any
    customer), InvalidBatch if any record is invalid (ConflictingBatch if its id came before
    with other content); each storing nothing. Services are created on first sight. The API
    caps a batch at 10,000 records. `backfill` takes records that start before the accepted
    window (USAGE_ACCEPT_DAYS)."""
    if customers is not None and (forbidden := _outside(records, customers)):
        raise ForbiddenBatch(forbidden)
    valid, errors = validate(records, backfill=backfill)
    if errors:
        raise InvalidBatch(errors)
    return _store(valid, _sender_id(sender))


def ingest_typed(
    records: list[TypedRecord],
    *,
    sender: Sender | None = None,
    customers: frozenset[str] | None = None,
) -> IngestResult:
    """The same for a batch the API decoded (usage.batch), checked as it is stored; handed to
    ingest_records, to say why, when any of it might be refused."""
    if customers is None or {record.customer for record in records} <= customers:
        batch = open_batch(records, window=accepted_window(backfill=False))
        if batch is not None:
            try:
                return _store_checked(batch, _sender_id(sender))
            except Invalid:
                pass  # stored nothing; the validation names the problems
    return ingest_records([as_dict(r) for r in records], sender=sender, customers=customers)


@transaction.atomic
def _store_checked(batch: CheckedBatch, sender_id: int) -> IngestResult:
    """Store a batch whose records are checked while they are copied (PostgreSQL) or
    before (SQLite, and a batch that meets a stored id); raises Invalid, storing nothing, at
    the first record that might be refused."""
    if connection.vendor == "postgresql":
        mark_ingest_in_flight()
        services = _services(batch.service_names())
        if not _stored(batch.first_key()):
            try:
                with transaction.atomic():
                    return _copy_new(batch, services, timezone.now(), sender_id)
            except IntegrityError:
                pass  # an id of the batch was stored, or came twice: the staging table sorts
        elif _all_stored(batch, services):  # a retry of a batch stored whole
            return IngestResult(accepted=0, duplicates=len(batch.records))
    return _store(sorted(batch), sender_id)


def _outside(records: list, customers: frozenset[str]) -> list[dict]:
    """The records for a customer number outside `customers` (one lookup a record). A record
    without a customer number is left to the validation."""
    return [
        problem(index, "customer", FORBIDDEN)
        for index, record in enumerate(records)
        if isinstance(record, dict)
        and isinstance(number := record.get("customer"), str)
        and number not in customers
    ]


def _sender_id(sender: Sender | None) -> int:
    return (sender or Sender.named(Sender.IMPORT)).pk


def ingest_valid_records(
    records: list, *, sender: Sender | None = None, backfill: bool = False
) -> tuple[IngestResult, list[dict]]:
    """Store the valid records of a batch and return the problems of the others (the import
    command's rule: a bad line of a large file must not hold back the good ones). A record in
    conflict with one stored, or with one earlier in the batch, is one of the others."""
    valid, errors = validate(records, backfill=backfill)
    sender_id = _sender_id(sender)
    while True:  # each round leaves out at least one record
        try:
            result = _store(valid, sender_id)
        except ConflictingBatch as conflict:
            refused = {error["index"] for error in conflict.errors}
            valid = [(index, record) for index, record in valid if index not in refused]
            errors = sorted(errors + conflict.errors, key=lambda error: error["index"])
        else:
            return result, errors


@transaction.atomic
def _store(records: list[tuple[int, Record]], sender_id: int) -> IngestResult:
    """Insert the records whose ids are new; raises ConflictingBatch, storing nothing, when an
    id comes again with other content (within the batch, or against what is stored)."""
    if not records:
        return IngestResult(accepted=0, duplicates=0)
    # Before any record takes an id: the aggregation waits for this transaction to end before
    # it trusts the highest id (ids are handed out in order, but commit in any order).
    mark_ingest_in_flight()
    services = _services({(r.customer, r.service) for _, r in records})
    # Each record as a row, and each id's first row: the one stored if the id is new.
    batch = [(index, _row(record, services)) for index, record in records]
    first: dict[tuple[int, str], tuple] = {}
    for _, row in batch:
        first.setdefault(_key(row), row)
    rows = list(first.values())
    received_at = timezone.now()
    if connection.vendor == "postgresql":
        months = _insert_through_staging(rows, received_at, sender_id)
    else:
        months = _insert_sqlite(rows, received_at, sender_id)
    accepted = sum(months.values())
    # The ids stored before with other content than their first row here: their stored digest.
    # Compared after the insert, which waited for any batch storing the same ids to commit.
    changed = {}
    if accepted < len(rows):
        changed = _changed_postgresql() if connection.vendor == "postgresql" else _changed(rows)
    # A batch of new ids, each once, as nearly every batch is, cannot conflict.
    repeated = len(rows) < len(batch)
    conflicts = [
        index for index, row in batch if (changed or repeated) and _conflicts(row, first, changed)
    ]
    if conflicts:
        raise ConflictingBatch([problem(index, "id", CONFLICT) for index in conflicts])
    return IngestResult(accepted=accepted, duplicates=len(records) - accepted, months=months)


def _row(record: Record, services: dict[tuple[int, str], int]) -> tuple:
    """The record as UsageRecord stores it, in the order of COLUMNS."""
    return (
        record.customer,
        services[record.customer, record.service],
        record.metric,
        record.id,
        record.quantity,
        record.start,
        record.end,
        record.resource,
    )


def _conflicts(row: tuple, first: dict[tuple[int, str], tuple], changed: dict) -> bool:
    """Whether a record differs from what its id holds: the stored record's digest when the id
    was stored before with other content, else the batch's first row of the id."""
    key = _key(row)
    if key in changed:
        return digest(row) != changed[key]
    return row != first[key]


def _key(row: tuple) -> tuple[int, str]:
    """(customer, id): what makes a record the same record."""
    return row[0], row[3]


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def digest(row: tuple) -> int:
    """A row's content (all but customer and id) as a signed 64-bit number: the first 8 bytes
    of the SHA-256 of its fields joined by "|", the quantity with 6 places and the times in
    microseconds since 1970 (the SQL function usage_record_digest computed the same for the
    records migration 0008 gave keys). Only the resource, the last field, is free text: no two
    contents join alike."""
    _, service, metric, _, quantity, start, end, resource = row
    text = f"{service}|{metric}|{quantity:.6f}|{_span_text(start, end)}|{resource}"
    return _FIRST_8_BYTES(hashlib.sha256(text.encode()).digest())[0]


_FIRST_8_BYTES = struct.Struct(">q").unpack_from  # as a signed big-endian number


@functools.lru_cache(maxsize=4096)  # a batch's records share a few hundred spans
def _span_text(start: datetime.datetime, end: datetime.datetime) -> str:
    return f"{(start - EPOCH) // MICROSECOND}|{(end - EPOCH) // MICROSECOND}"


def _services(names: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The ids of the customers' services by name, creating those seen for the first time.

    Two batches naming a new service at once: the second insert waits for the first
    transaction and skips the row (ignore_conflicts), then both read the same id back. They
    insert in one order (sorted) so that neither can hold a name the other waits for."""

    def existing() -> dict[tuple[int, str], int]:
        found = Service.objects.filter(
            customer_id__in={customer for customer, _ in names},
            name__in={name for _, name in names},
        ).values_list("customer_id", "name", "pk")
        return {(c, n): pk for c, n, pk in found if (c, n) in names}

    ids = existing()
    if missing := sorted(names - ids.keys()):
        Service.objects.bulk_create(
            [Service(customer_id=c, name=n) for c, n in missing], ignore_conflicts=True
        )
        ids = existing()
    return ids


# A row as stored, in the order _store builds it.
COLUMNS = 'customer_id, service_id, metric, external_id, quantity, start, "end", resource'

STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_ingest_batch (
    customer_id bigint, service_id bigint, metric varchar(16), external_id varchar(200),
    quantity numeric(20, 6), start timestamptz, "end" timestamptz, resource varchar(200),
    digest bigint
) ON COMMIT DELETE ROWS;
TRUNCATE usage_ingest_batch
"""

# Keys go in in one order (by customer and id, as bytes: Python's order of the same text,
# which _copy_new follows): two batches sharing ids cannot each hold a key the other waits for
# (a deadlock); the second skips the first's keys once it commits. Only the records whose key
# went in are stored, counted by customer and UTC month in the same statement.
INSERT_FROM_STAGING = f"""
WITH keys AS (
    INSERT INTO usage_recordkey (customer_id, external_id, digest)
    SELECT b.customer_id, b.external_id, b.digest
    FROM usage_ingest_batch b ORDER BY b.customer_id, b.external_id COLLATE "C"
    ON CONFLICT (customer_id, external_id) DO NOTHING
    RETURNING customer_id, external_id
), inserted AS (
    INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id)
    SELECT {COLUMNS}, %s, %s FROM usage_ingest_batch JOIN keys USING (customer_id, external_id)
    RETURNING customer_id, start
)
SELECT customer_id, (date_trunc('month', start AT TIME ZONE 'UTC'))::date, count(*)
FROM inserted GROUP BY 1, 2
"""


# The batch's records whose key is stored with their digest: duplicates.
DUPLICATES_IN_STAGING = """
SELECT COUNT(*) FROM usage_ingest_batch b JOIN usage_recordkey k USING (customer_id, external_id)
WHERE k.digest = b.digest
"""


def _all_stored(batch: CheckedBatch, services: dict[tuple[int, str], int]) -> bool:
    """Whether every record of the batch is a duplicate of one stored (committed): only the
    keys and digests are copied to the staging table, and one join counts them. Raises
    Invalid at a record that might be refused. Anything else (a new id, a conflict, an id
    another batch is storing now) is for the staging table's full statement to sort out."""
    keys = [(*_key(row), digest(row)) for row in (_row(r, services) for _, r in batch)]
    with connection.cursor() as cursor:
        cursor.execute(STAGING)
        _copy_keys(cursor, "usage_ingest_batch", keys)
        cursor.execute(DUPLICATES_IN_STAGING)
        return cursor.fetchone()[0] == len(keys)


def _copy_keys(cursor, table: str, keys: list[tuple[int, str, int]]) -> None:
    """COPY (customer_id, external_id, digest) rows into `table`, in the binary format."""
    with cursor.cursor.copy(
        f"COPY {table} (customer_id, external_id, digest) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(KEY_TYPES)
        for key in keys:
            copy.write_row(key)


def _stored(key: tuple[int, str]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT FROM usage_recordkey WHERE customer_id = %s "
            "AND external_id = %s)",
            key,
        )
        return cursor.fetchone()[0]


def _copy_new(
    batch: CheckedBatch,
    services: dict[tuple[int, str], int],
    received_at: datetime.datetime,
    sender_id: int,
) -> IngestResult:
    """COPY the records, then their keys, in PostgreSQL's binary format. Raises IntegrityError
    when a key is stored or comes twice, Invalid at a record that might be refused.

    Binary: psycopg writes each typed value in C and the server reads it without parsing text
    (numbers, times): half the cost of a text COPY on either side, measured here. Each record
    is checked as it comes and psycopg sends the rows as its buffer fills: PostgreSQL stores
    the records while Python checks the next ones, on the other core; the keys (the cheaper
    copy of the two) follow. The batch is read in the staging statement's order, by customer
    and id, so the keys go in in it: no deadlock with a batch sharing ids."""
    rows, keys = [], []
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(
            f"COPY usage_usagerecord ({COLUMNS}, received_at, sender_id) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(RECORD_TYPES)
            for _, record in batch:
                row = _row(record, services)
                rows.append(row)
                copy.write_row((*row, received_at, sender_id))
                keys.append((*_key(row), digest(row)))
        _copy_keys(cursor, "usage_recordkey", keys)
    months = Counter((row[0], row[5].date().replace(day=1)) for row in rows)
    return IngestResult(accepted=len(rows), duplicates=0, months=months)


# The columns' types, as a binary COPY must name them: COLUMNS, received_at and sender_id; the
# key table's (and the staging table's) customer_id, external_id and digest.
RECORD_TYPES = [
    "int8", "int8", "varchar", "varchar", "numeric", "timestamptz", "timestamptz", "varchar",
    "timestamptz", "int8",
]  # fmt: skip
KEY_TYPES = ["int8", "varchar", "int8"]


def _row_text(row: tuple, times: dict[datetime.datetime, str]) -> str:
    """A row's COLUMNS as COPY's text: fields hold no control characters (the validation
    refuses them), so a backslash is all there is to escape."""
    customer, service, metric, external_id, quantity, start, end, resource = row
    return (
        f"{customer}\t{service}\t{metric}\t{_copy_text(external_id)}\t{quantity}\t"
        f"{_time_text(start, times)}\t{_time_text(end, times)}\t{_copy_text(resource)}"
    )


def _time_text(moment: datetime.datetime, seen: dict[datetime.datetime, str]) -> str:
    text = seen.get(moment)
    if text is None:
        text = seen[moment] = moment.isoformat()
    return text


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\")


def _insert_through_staging(
    rows: list[tuple], received_at: datetime.datetime, sender_id: int
) -> dict[tuple[int, datetime.date], int]:
    """COPY into a temporary table, then one statement that inserts the keys not yet stored and
    the records of those, and counts the new records by customer and month. The temporary
    table lives as long as the connection and is emptied at every commit."""
    times: dict[datetime.datetime, str] = {}
    lines = "".join(f"{_row_text(row, times)}\t{digest(row)}\n" for row in rows)
    with connection.cursor() as cursor:
        cursor.execute(STAGING)
        with cursor.cursor.copy(f"COPY usage_ingest_batch ({COLUMNS}, digest) FROM STDIN") as copy:
            copy.write(lines)
        cursor.execute(INSERT_FROM_STAGING, [received_at, sender_id])
        return {(customer, month): count for customer, month, count in cursor.fetchall()}


# The stored keys of the batch's ids (still in the staging table) whose digest differs.
CHANGED_IN_STAGING = """
SELECT k.customer_id, k.external_id, k.digest
FROM usage_ingest_batch b JOIN usage_recordkey k USING (customer_id, external_id)
WHERE k.digest <> b.digest
"""


def _changed_postgresql() -> dict[tuple[int, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_IN_STAGING)
        return {(customer, external_id): value for customer, external_id, value in cursor}


def _changed(rows: list[tuple]) -> dict[tuple[int, str], int]:
    """The same in Python, from one query for the stored keys of the batch's ids (SQLite)."""
    batch = {_key(row): row for row in rows}
    stored = RecordKey.objects.filter(
        customer_id__in={customer for customer, _ in batch},
        external_id__in={external_id for _, external_id in batch},
    ).values_list("customer_id", "external_id", "digest")
    return {
        (customer, external_id): value
        for customer, external_id, value in stored
        if (customer, external_id) in batch and digest(batch[customer, external_id]) != value
    }


def _insert_sqlite(
    rows: list[tuple], received_at: datetime.datetime, sender_id: int
) -> dict[tuple[int, datetime.date], int]:
    """The same a row at a time: the key (INSERT ... ON CONFLICT DO NOTHING), then the record if
    the key went in, counting the records by customer and month. Values as Django's SQLite
    backend stores them; through the driver's own cursor, so that DEBUG does not log every
    row."""
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(received_at)
    months: dict[tuple[int, datetime.date], int] = {}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        insert_key = (
            "INSERT INTO usage_recordkey (customer_id, external_id, digest) VALUES (?, ?, ?) "
            "ON CONFLICT (customer_id, external_id) DO NOTHING"
        )
        insert = (
            f"INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for row in rows:
            customer, *head, quantity, start, end, resource = row
            cursor.cursor.execute(insert_key, (customer, row[3], digest(row)))
            if not cursor.cursor.rowcount:
                continue
            cursor.cursor.execute(
                insert,
                (
                    customer,
                    *head,
                    str(quantity),
                    adapt(start),
                    adapt(end),
                    resource,
                    received,
                    sender_id,
                ),
            )
            month = (customer, start.date().replace(day=1))
            months[month] = months.get(month, 0) + 1
    return months
