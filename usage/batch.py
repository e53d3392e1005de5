"""A batch as the ingest API receives it, read fast: decoded by msgspec into typed records and
checked as a whole, for the batch that is valid, as nearly every batch a sender posts is.

This is a shortcut, never a second set of rules: usage.validation holds the rules and says why
a record is refused. A batch this module does not accept whole (a field of the wrong type, an
unknown field, an unknown customer, any value usage.validation might refuse) is handed back
to usage.validation, which lists every problem by record and field. So every check here is as
strict as the rule it stands for, or stricter; the values it keeps are the ones
usage.validation keeps (the same functions compute them).

What makes it fast: msgspec checks types and lengths while it decodes, in C; what is checked
once a batch is checked on the batch's distinct values (its customers, services and metrics),
the printable text in one search over all of it, and times and quantities once a distinct
value (an hour's records share their start and end).

Nothing here writes; it reads the customers a batch names.
"""

from collections.abc import Iterator
from typing import Annotated

import msgspec

from accounts.models import Customer
from usage.validation import (
    CUSTOMER_NUMBER_LENGTH,
    LENGTHS,
    MAX_INTERVAL,
    METRICS,
    UNPRINTABLE,
    Invalid,
    Record,
    Window,
    check_customer,
    check_moment,
    check_quantity,
    check_service,
)


class TypedRecord(msgspec.Struct, forbid_unknown_fields=True):
    """A record as the contract types it; `resource` may be null or left out."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=LENGTHS["id"])]
    customer: Annotated[str, msgspec.Meta(min_length=1, max_length=CUSTOMER_NUMBER_LENGTH)]
    service: Annotated[str, msgspec.Meta(min_length=1, max_length=LENGTHS["service"])]
    metric: str
    quantity: str | int | float
    start: str
    end: str
    resource: Annotated[str, msgspec.Meta(max_length=LENGTHS["resource"])] | None = None


class TypedBatch(msgspec.Struct):
    records: list[TypedRecord]


_DECODER = msgspec.json.Decoder(TypedBatch)


def decode_batch(body: bytes) -> list[TypedRecord] | None:
    """The body's records, typed; None when the body is not a batch of well-typed records
    (usage.validation.parse_json then reads it, to say what is wrong)."""
    try:
        return _DECODER.decode(body).records
    except msgspec.MsgspecError:
        return None


def as_dict(record: TypedRecord) -> dict:
    """The record as the JSON object it was decoded from, for usage.validation."""
    return msgspec.structs.asdict(record)


class CheckedBatch:
    """A batch whose batch-wide checks passed (customers known, services and metrics valid,
    no control characters): iterating it checks each record in turn and yields it with its
    index in the batch, as usage.validation would keep it, raising Invalid at the first
    record it might refuse. Records come ordered by customer and id (the order in which the
    ingest takes their keys)."""

    def __init__(self, records: list[TypedRecord], customer_ids: dict[str, int], window: Window):
        self.customer_ids = customer_ids
        self.services = {name: check_service(name) for name in {r.service for r in records}}
        self.window = window
        self.order = sorted(range(len(records)), key=lambda i: self._key(records[i]))
        self.records = records

    def _key(self, record: TypedRecord) -> tuple[int, str]:
        return self.customer_ids[record.customer], record.id

    def first_key(self) -> tuple[int, str]:
        return self._key(self.records[self.order[0]])

    def service_names(self) -> set[tuple[int, str]]:
        """(customer, service name) of every record."""
        return {(self.customer_ids[r.customer], self.services[r.service]) for r in self.records}

    def __iter__(self) -> Iterator[tuple[int, Record]]:
        customer_ids, services, window = self.customer_ids, self.services, self.window
        spans: dict[tuple[str, str], tuple] = {}
        quantities: dict[str, object] = {}
        for index in self.order:
            r = self.records[index]
            span = spans.get((r.start, r.end))
            if span is None:
                span = spans[r.start, r.end] = _span(r.start, r.end, window)
            if r.quantity.__class__ is str:
                quantity = quantities.get(r.quantity)
                if quantity is None:
                    quantity = quantities[r.quantity] = check_quantity(r.quantity)
            else:  # a number: 0 and -0.0 are equal keys, and must not share a value
                quantity = check_quantity(r.quantity)
            yield (
                index,
                Record(
                    customer_ids[r.customer],
                    r.id,
                    services[r.service],
                    r.metric,
                    quantity,
                    *span,
                    (r.resource or "").strip(),
                ),
            )


def open_batch(records: list[TypedRecord], *, window: Window) -> CheckedBatch | None:
    """The batch with its batch-wide checks done, or None when any fails (or it is empty).
    Reads the customers the batch names, in one query."""
    numbers = {r.customer for r in records}
    if not numbers or not {r.metric for r in records} <= METRICS:
        return None
    # Control characters anywhere in the ids and resources (the spaces between them are
    # printable): usage.validation refuses each of them.
    if UNPRINTABLE.search(
        " ".join([*(r.id for r in records), *(r.resource or "" for r in records)])
    ):
        return None
    try:
        for number in numbers:
            check_customer(number)
        customer_ids = dict(Customer.objects.filter(number__in=numbers).values_list("number", "pk"))
        if len(customer_ids) < len(numbers):
            return None
        return CheckedBatch(records, customer_ids, window)
    except Invalid:
        return None


def _span(start: str, end: str, window: Window) -> tuple:
    """(start, end) in UTC; raises Invalid where usage.validation refuses either."""
    begins, ends = check_moment(start), check_moment(end)
    if begins > window.latest or (window.earliest and begins < window.earliest):
        raise Invalid("start outside the accepted window")
    if ends < begins or ends - begins > MAX_INTERVAL:
        raise Invalid("not an interval of at most a day")
    return begins, ends
