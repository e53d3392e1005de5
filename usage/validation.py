"""Checking usage records, one field at a time: the room between a parsed batch and the storing
(usage.ingest). Nothing here writes; it reads the customers a batch names.

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
"""

import datetime
import json
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from accounts.models import Customer
from usage.models import FORMULA_STARTS, Metric

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


class Invalid(Exception):
    """A value a rule refuses; its message is the rule's, for the sender."""


class Record(NamedTuple):
    customer: int
    id: str
    service: str
    metric: str
    quantity: Decimal
    start: datetime.datetime
    end: datetime.datetime
    resource: str = ""


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


def validate(records: list, *, backfill: bool) -> tuple[list[tuple[int, Record]], list[dict]]:
    """The valid records with their index in the batch, and the problems of the others."""
    window = accepted_window(backfill=backfill)
    errors = []
    parsed: list[tuple[int, dict]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(problem(index, None, "Must be an object with the record's fields."))
            continue
        values, problems = _check_record(record, window)
        errors += [problem(index, field, message) for field, message in problems]
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
            errors.append(problem(index, "customer", f"Unknown customer {values['customer']}."))
            continue
        values["customer"] = customer_id
        valid.append((index, Record(**values)))
    errors.sort(key=lambda error: error["index"])  # stable: a record's fields stay in order
    return valid, errors


def problem(index: int, field: str | None, message: str) -> dict:
    return {"index": index, "field": field, "error": message}


class Window(NamedTuple):
    """When a record may start: from `earliest` (None: any time before, for a backfill) to
    `latest`."""

    earliest: datetime.datetime | None
    latest: datetime.datetime


def accepted_window(*, backfill: bool) -> Window:
    """When a record received now may start."""
    now = timezone.now()
    return Window(
        earliest=None if backfill else now - datetime.timedelta(days=settings.USAGE_ACCEPT_DAYS),
        latest=now + CLOCK_SKEW,
    )


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
        except Invalid as exc:
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
        raise Invalid("Must be a string.")
    if strip:
        value = value.strip()
    if not value and not optional:
        raise Invalid("Must not be empty.")
    if len(value) > max_length:
        raise Invalid(f"Must be at most {max_length} characters.")
    if UNPRINTABLE.search(value):
        raise Invalid("Must be printable UTF-8 text, without control characters.")
    return value


def check_service(value) -> str:
    name = _text(value, LENGTHS["service"], strip=True)
    if any(part.lstrip(" ").startswith(FORMULA_STARTS) for part in CELL_SEPARATORS.split(name)):
        raise Invalid(
            "Must not start with = + - @, a tab or a carriage return, nor have a part after ; "
            "or , that does: a spreadsheet would run it as a formula."
        )
    if not SERVICE_NAME_ASCII.fullmatch(name) and not all(
        char in SERVICE_PUNCTUATION
        or unicodedata.category(char).startswith(SERVICE_CHARACTER_CATEGORIES)
        for char in name
    ):
        raise Invalid(
            "May hold letters, digits, spaces and . _ - : / ( ) # only (no control or "
            "invisible formatting characters)."
        )
    return name


def check_customer(value) -> str:
    if value.__class__ is not str:
        raise Invalid("Must be a string: the customer number, such as C-10001.")
    if not value or len(value) > CUSTOMER_NUMBER_LENGTH:
        raise Invalid("Unknown customer.")
    return _text(value, CUSTOMER_NUMBER_LENGTH)


def _metric(value) -> str:
    if value.__class__ is not str or value not in METRICS:
        raise Invalid(f"Unknown metric; one of {', '.join(Metric.values)}.")
    return value


def check_quantity(value) -> Decimal:
    if isinstance(value, str):
        if not DECIMAL.fullmatch(value):
            raise Invalid("Must be a decimal number such as 12.5.")
        quantity = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("Must be a finite number.")
        quantity = Decimal(repr(value))  # 0.1 stays 0.1, not 0.1000000000000000055…
    elif isinstance(value, int) and not isinstance(value, bool):
        quantity = Decimal(value)
    else:
        raise Invalid("Must be a decimal number, as a string or a JSON number.")
    if quantity < 0:
        raise Invalid("Must not be negative.")
    if quantity > MAX_QUANTITY:
        raise Invalid(f"Must be at most {MAX_QUANTITY:,} in one record.")
    # copy_abs: "-0" is 0, as the database stores it and the content digest must read it.
    return quantity.quantize(QUANTUM, rounding=ROUND_HALF_UP).copy_abs()


def check_moment(value) -> datetime.datetime:
    if not isinstance(value, str) or len(value) > TIMESTAMP_MAX_LENGTH:
        raise Invalid("Must be an ISO 8601 timestamp string, such as 2026-11-20T13:00:00Z.")
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("Not an ISO 8601 timestamp, such as 2026-11-20T13:00:00Z.") from None
    if moment.utcoffset() is None:
        raise Invalid("Needs a time zone, such as Z or +01:00.")
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        raise Invalid("Is out of range.") from None


# Field by field, in the contract's order (errors are listed in it).
CHECKS = (
    ("id", lambda value: _text(value, LENGTHS["id"])),
    ("customer", check_customer),
    ("service", check_service),
    ("metric", _metric),
    ("quantity", check_quantity),
    ("start", check_moment),
    ("end", check_moment),
    ("resource", lambda value: _text(value, LENGTHS["resource"], strip=True, optional=True)),
)
