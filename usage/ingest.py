"""Validating and storing batches of usage records: the ingest API and `import_usage` share it.

A record is what DESIGN.md's "Metering contract" says: `id` (the sender's, unique per customer),
`customer` (its number, C-10001), `service`, `metric`, `quantity`, `start`, `end`, and an
optional `resource`. The rules a record must pass, beyond the types:

- `quantity`: a decimal string ("12.5") or a JSON number, finite, from 0 to MAX_QUANTITY per
  record (no single measurement of an hour or a day comes near it, so anything above is a bug
  on the sender's side). It is kept to 6 decimal places, rounded half-up, as the rollup keeps.
- `start` and `end`: ISO 8601 with a time zone (`Z` or `+01:00`); a naive time is refused, as
  its meaning depends on the sender's clock. `end` is not before `start`, the interval is at
  most a day, and `start` is not later than now plus CLOCK_SKEW (the sender's clock may run a
  little ahead of ours) nor more than USAGE_ACCEPT_DAYS days ago (a backfill, which the import
  command does on request, may go further back).
- `service` 1-120 characters of letters, digits, spaces and `._-:/()#`, not starting (nor a
  `;`/`,`-separated part of it starting) with a spreadsheet formula character: it is written
  to CSV exports and read back by spreadsheets. `id` 1-200 characters, `resource` up to 200
  (surrounding spaces of service and resource are dropped); no control characters; no field
  outside the contract.

A record whose (customer, id) was already stored, or came earlier in the same batch, with the
same content is a duplicate: skipped and counted. The same (customer, id) with other content
(service, metric, quantity as stored, start, end or resource) is a conflict: the sender has a
bug, and keeping either silently would lose usage. The batch is refused (ConflictingBatch);
the import command stores the first and reports the others.

Every record is stored with its sender (usage.models.senders). A sender limited to some
customers has a batch naming any other refused whole (ForbiddenBatch), before anything else
about it is checked: it learns nothing about customers it may not send for.
"""

import dataclasses
import datetime
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from usage.aggregation import mark_ingest_in_flight
from usage.models import FORMULA_STARTS, Metric, Sender, Service, UsageRecord

MAX_QUANTITY = Decimal(1_000_000_000)
CLOCK_SKEW = datetime.timedelta(minutes=5)
MAX_INTERVAL = datetime.timedelta(days=1)
QUANTUM = Decimal("0.000001")  # UsageRecord.quantity's 6 decimal places

FIELDS = ("id", "customer", "service", "metric", "quantity", "start", "end", "resource")
FIELD_SET = frozenset(FIELDS)
REQUIRED = FIELD_SET - {"resource"}
METRICS = frozenset(Metric.values)
CUSTOMER_NUMBER_LENGTH = Customer._meta.get_field("number").max_length
LENGTHS = {"id": 200, "service": 120, "resource": 200}
# A plain decimal, optionally with an exponent: no "NaN", "Infinity", "0x10" or "1_000", and
# ASCII digits only (Decimal() reads "٣" as 3).
DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?", re.ASCII)
# Control characters (PostgreSQL refuses NUL in text) and lone surrogates (not UTF-8 at all).
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
TIMESTAMP_MAX_LENGTH = 40
# Service names: letters and digits of any script (with their combining marks), spaces and
# these. ASCII names, nearly all of them, are checked by the pattern alone.
SERVICE_PUNCTUATION = " ._-:/()#"
SERVICE_NAME_ASCII = re.compile(r"[A-Za-z0-9 ._\-:/()#]+")
SERVICE_CHARACTER_CATEGORIES = ("L", "M", "Nd")
# A spreadsheet that splits cells at ; or , starts a cell (and maybe a formula) at each part.
CELL_SEPARATORS = re.compile(r"[;,]")


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


class _Invalid(Exception):
    pass


class _Record(NamedTuple):
    customer: int
    id: str
    service: str
    metric: str
    quantity: Decimal
    start: datetime.datetime
    end: datetime.datetime
    resource: str = ""


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
    valid, errors = _validate(records, backfill=backfill)
    if errors:
        raise InvalidBatch(errors)
    return _store(valid, _sender_id(sender))


def _outside(records: list, customers: frozenset[str]) -> list[dict]:
    """The records for a customer number outside `customers` (one lookup a record). A record
    without a customer number is left to the validation."""
    return [
        _error(index, "customer", FORBIDDEN)
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
    valid, errors = _validate(records, backfill=backfill)
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


def parse_json(text: str | bytes):
    """JSON as the contract reads it (UTF-8); raises ValueError for anything else, including
    the NaN and Infinity that Python's parser would let through, and nesting too deep."""
    try:
        return _DECODER.decode(text.decode() if isinstance(text, bytes) else text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _validate(records: list, *, backfill: bool) -> tuple[list[tuple[int, _Record]], list[dict]]:
    """The valid records with their index in the batch, and the problems of the others."""
    now = timezone.now()
    window = Window(
        earliest=None if backfill else now - datetime.timedelta(days=settings.USAGE_ACCEPT_DAYS),
        latest=now + CLOCK_SKEW,
    )
    errors = []
    parsed: list[tuple[int, dict]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(_error(index, None, "Must be an object with the record's fields."))
            continue
        values, problems = _check_record(record, window)
        errors += [_error(index, field, message) for field, message in problems]
        if not problems:
            parsed.append((index, values))
    customers = dict(
        Customer.objects.filter(number__in={v["customer"] for _, v in parsed}).values_list(
            "number", "pk"
        )
    )
    valid = []
    for index, values in parsed:
        customer_id = customers.get(values["customer"])
        if customer_id is None:
            errors.append(_error(index, "customer", f"Unknown customer {values['customer']}."))
            continue
        values["customer"] = customer_id
        valid.append((index, _Record(**values)))
    errors.sort(key=lambda error: error["index"])  # stable: a record's fields stay in order
    return valid, errors


def _error(index: int, field: str | None, message: str) -> dict:
    return {"index": index, "field": field, "error": message}


class Window(NamedTuple):
    """When a record may start: from `earliest` (None: any time before, for a backfill) to
    `latest`."""

    earliest: datetime.datetime | None
    latest: datetime.datetime


def _check_record(record: dict, window: Window) -> tuple[dict, list[tuple[str, str]]]:
    problems = []
    values = {}
    for field, check in CHECKS:
        value = record.get(field)
        if value is None and (field == "resource" or field not in record):
            if field in REQUIRED:
                problems.append((field, "This field is required."))
            continue
        try:
            values[field] = check(value)
        except _Invalid as exc:
            problems.append((field, str(exc)))
    if len(record) > len(values) and (unknown := record.keys() - FIELD_SET):
        problems += [(field, "Unknown field.") for field in record if field in unknown]
    start, end = values.get("start"), values.get("end")
    if start and start > window.latest:
        skew = CLOCK_SKEW // datetime.timedelta(minutes=1)
        problems.append(
            ("start", f"Is in the future (more than {skew} minutes ahead of our clock).")
        )
    if start and window.earliest and start < window.earliest:
        problems.append(
            (
                "start",
                f"Is more than {settings.USAGE_ACCEPT_DAYS} days ago; older usage is loaded with "
                "`manage.py import_usage --backfill`.",
            )
        )
    if start and end:
        if end < start:
            problems.append(("end", "Is before start."))
        elif end - start > MAX_INTERVAL:
            problems.append(("end", "The interval from start to end is longer than a day."))
    return values, problems


def _text(value, max_length: int, *, strip: bool = False, optional: bool = False) -> str:
    if value.__class__ is not str:
        raise _Invalid("Must be a string.")
    if strip:
        value = value.strip()
    if not value and not optional:
        raise _Invalid("Must not be empty.")
    if len(value) > max_length:
        raise _Invalid(f"Must be at most {max_length} characters.")
    if UNPRINTABLE.search(value):
        raise _Invalid("Must be printable UTF-8 text, without control characters.")
    return value


def _service(value) -> str:
    name = _text(value, LENGTHS["service"], strip=True)
    if any(part.lstrip(" ").startswith(FORMULA_STARTS) for part in CELL_SEPARATORS.split(name)):
        raise _Invalid(
            "Must not start with = + - @, a tab or a carriage return, nor have a part after ; "
            "or , that does: a spreadsheet would run it as a formula."
        )
    if not SERVICE_NAME_ASCII.fullmatch(name) and not all(
        char in SERVICE_PUNCTUATION
        or unicodedata.category(char).startswith(SERVICE_CHARACTER_CATEGORIES)
        for char in name
    ):
        raise _Invalid(
            "May hold letters, digits, spaces and . _ - : / ( ) # only (no control or "
            "invisible formatting characters)."
        )
    return name


def _customer(value) -> str:
    if value.__class__ is not str:
        raise _Invalid("Must be a string: the customer number, such as C-10001.")
    if not value or len(value) > CUSTOMER_NUMBER_LENGTH:
        raise _Invalid("Unknown customer.")
    return _text(value, CUSTOMER_NUMBER_LENGTH)


def _metric(value) -> str:
    if value.__class__ is not str or value not in METRICS:
        raise _Invalid(f"Unknown metric; one of {', '.join(Metric.values)}.")
    return value


def _quantity(value) -> Decimal:
    if isinstance(value, str):
        if not DECIMAL.fullmatch(value):
            raise _Invalid("Must be a decimal number such as 12.5.")
        quantity = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("Must be a finite number.")
        quantity = Decimal(repr(value))  # 0.1 stays 0.1, not 0.1000000000000000055…
    elif isinstance(value, int) and not isinstance(value, bool):
        quantity = Decimal(value)
    else:
        raise _Invalid("Must be a decimal number, as a string or a JSON number.")
    if quantity < 0:
        raise _Invalid("Must not be negative.")
    if quantity > MAX_QUANTITY:
        raise _Invalid(f"Must be at most {MAX_QUANTITY:,} in one record.")
    return quantity.quantize(QUANTUM, rounding=ROUND_HALF_UP)


def _moment(value) -> datetime.datetime:
    if not isinstance(value, str) or len(value) > TIMESTAMP_MAX_LENGTH:
        raise _Invalid("Must be an ISO 8601 timestamp string, such as 2026-11-20T13:00:00Z.")
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("Not an ISO 8601 timestamp, such as 2026-11-20T13:00:00Z.") from None
    if moment.utcoffset() is None:
        raise _Invalid("Needs a time zone, such as Z or +01:00.")
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        raise _Invalid("Is out of range.") from None


# Field by field, in the contract's order (errors are listed in it).
CHECKS = (
    ("id", lambda value: _text(value, LENGTHS["id"])),
    ("customer", _customer),
    ("service", _service),
    ("metric", _metric),
    ("quantity", _quantity),
    ("start", _moment),
    ("end", _moment),
    ("resource", lambda value: _text(value, LENGTHS["resource"], strip=True, optional=True)),
)


@transaction.atomic
def _store(records: list[tuple[int, _Record]], sender_id: int) -> IngestResult:
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
        months = _insert_postgresql(rows, received_at, sender_id)
    else:
        months = _insert_sqlite(rows, received_at, sender_id)
    accepted = sum(months.values())
    # An id stored before with other content than its first row here, as stored. Compared after
    # the insert, which waited for any batch storing the same ids at the same time to commit.
    changed = {}
    if accepted < len(rows):
        changed = _changed_postgresql() if connection.vendor == "postgresql" else _changed(rows)
    # Every record must match what its id holds: the stored row, else the batch's first.
    conflicts = [i for i, row in batch if row != changed.get(_key(row), first[_key(row)])]
    if conflicts:
        raise ConflictingBatch([_error(index, "id", CONFLICT) for index in conflicts])
    return IngestResult(accepted=accepted, duplicates=len(records) - accepted, months=months)


def _row(record: _Record, services: dict[tuple[int, str], int]) -> tuple:
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


def _key(row: tuple) -> tuple[int, str]:
    """(customer, id): what makes a record the same record."""
    return row[0], row[3]


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
ROW_FIELDS = (
    "customer_id",
    "service_id",
    "metric",
    "external_id",
    "quantity",
    "start",
    "end",
    "resource",
)

STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS usage_ingest_batch (
    customer_id bigint, service_id bigint, metric varchar(16), external_id varchar(200),
    quantity numeric(20, 6), start timestamptz, "end" timestamptz, resource varchar(200)
) ON COMMIT DELETE ROWS;
TRUNCATE usage_ingest_batch
"""

# Rows go in in one order (by customer and id): two batches sharing ids cannot each hold a
# row the other waits for (a deadlock); the second skips the first's rows once it commits.
# The new rows are counted by customer and UTC month in the same statement.
INSERT_FROM_STAGING = f"""
WITH inserted AS (
    INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id)
    SELECT {COLUMNS}, %s, %s FROM usage_ingest_batch ORDER BY customer_id, external_id
    ON CONFLICT (customer_id, external_id) DO NOTHING
    RETURNING customer_id, start
)
SELECT customer_id, (date_trunc('month', start AT TIME ZONE 'UTC'))::date, count(*)
FROM inserted GROUP BY 1, 2
"""


def _insert_postgresql(
    rows: list[tuple], received_at: datetime.datetime, sender_id: int
) -> dict[tuple[int, datetime.date], int]:
    """COPY into a temporary table, then one INSERT ... SELECT that skips the ids already
    stored and counts the new records by customer and month. The temporary table lives as long
    as the connection and is emptied at every commit."""
    with connection.cursor() as cursor:
        cursor.execute(STAGING)
        with cursor.cursor.copy(f"COPY usage_ingest_batch ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(INSERT_FROM_STAGING, [received_at, sender_id])
        return {(customer, month): count for customer, month, count in cursor.fetchall()}


# The stored rows of the batch's ids (still in the staging table) whose content differs.
CHANGED_IN_STAGING = f"""
SELECT {", ".join(f"r.{column}" for column in COLUMNS.split(", "))}
FROM usage_ingest_batch b
JOIN usage_usagerecord r ON r.customer_id = b.customer_id AND r.external_id = b.external_id
WHERE (r.service_id, r.metric, r.quantity, r.start, r."end", r.resource)
    IS DISTINCT FROM (b.service_id, b.metric, b.quantity, b.start, b."end", b.resource)
"""


def _changed_postgresql() -> dict[tuple[int, str], tuple]:
    with connection.cursor() as cursor:
        cursor.execute(CHANGED_IN_STAGING)
        return {_key(row): row for row in cursor.fetchall()}


def _changed(rows: list[tuple]) -> dict[tuple[int, str], tuple]:
    """The same in Python, from one query for the stored rows of the batch's ids (SQLite)."""
    batch = {_key(row): row for row in rows}
    stored = UsageRecord.objects.filter(
        customer_id__in={customer for customer, _ in batch},
        external_id__in={external_id for _, external_id in batch},
    ).values_list(*ROW_FIELDS)
    return {_key(row): row for row in stored if _key(row) in batch and batch[_key(row)] != row}


def _insert_sqlite(
    rows: list[tuple], received_at: datetime.datetime, sender_id: int
) -> dict[tuple[int, datetime.date], int]:
    """The same INSERT ... ON CONFLICT DO NOTHING a row at a time, counting the rows that went
    in by customer and month. Values as Django's SQLite backend stores them; through the
    driver's own cursor, as one executemany did, so that DEBUG does not log every row."""
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(received_at)
    months: dict[tuple[int, datetime.date], int] = {}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        insert = (
            f"INSERT INTO usage_usagerecord ({COLUMNS}, received_at, sender_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (customer_id, external_id) DO NOTHING"
        )
        for customer, *head, quantity, start, end, resource in rows:
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
            if cursor.cursor.rowcount:
                month = (customer, start.date().replace(day=1))
                months[month] = months.get(month, 0) + 1
    return months
