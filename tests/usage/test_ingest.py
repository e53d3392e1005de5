"""The ingest service: every record checked, a batch stored all-or-nothing, each id once."""

import datetime
from decimal import Decimal

import pytest

from tests.usage.records import NOTHING, record, stored
from usage.ingest import (
    ConflictingBatch,
    IngestResult,
    InvalidBatch,
    ingest_records,
    ingest_valid_records,
)
from usage.models import Service, UsageRecord

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.both_databases,
    pytest.mark.usefixtures("still_now", "customers"),
]


def test_a_valid_batch_is_stored_with_its_services_created_on_first_sight():
    result = ingest_records(
        [
            record(1, resource="vm-42"),
            record(2, service="db-primary", metric="storage", quantity=250),
            record(3, customer="C-20001", quantity=0.1),
        ]
    )

    assert result == IngestResult(accepted=3, duplicates=0)
    first = UsageRecord.objects.get(external_id="r-1")
    assert first.customer.number == "C-20000"
    assert first.service.name == "k8s-prod-eu1"
    assert first.metric == "cpu"
    assert first.quantity == Decimal("1.5")
    assert first.start == datetime.datetime(2026, 10, 20, 13, tzinfo=datetime.UTC)
    assert first.end == datetime.datetime(2026, 10, 20, 14, tzinfo=datetime.UTC)
    assert first.resource == "vm-42"
    assert UsageRecord.objects.get(external_id="r-2").quantity == Decimal("250")
    assert UsageRecord.objects.get(external_id="r-3").quantity == Decimal("0.1")
    assert sorted(Service.objects.values_list("customer__number", "name")) == [
        ("C-20000", "db-primary"),
        ("C-20000", "k8s-prod-eu1"),
        ("C-20001", "k8s-prod-eu1"),
    ]


def test_a_known_service_is_reused_and_surrounding_spaces_do_not_make_a_new_one():
    ingest_records([record(1)])
    ingest_records([record(2, service="  k8s-prod-eu1 ")])

    assert Service.objects.count() == 1
    assert UsageRecord.objects.filter(service__name="k8s-prod-eu1").count() == 2


def test_times_with_an_offset_are_stored_in_utc():
    ingest_records([record(1, start="2026-10-20T15:00:00+02:00", end="2026-10-20T16:30:00+02:00")])

    stored_record = UsageRecord.objects.get()
    assert stored_record.start == datetime.datetime(2026, 10, 20, 13, tzinfo=datetime.UTC)
    assert stored_record.end == datetime.datetime(2026, 10, 20, 14, 30, tzinfo=datetime.UTC)


def test_quantities_keep_six_decimal_places_rounded_half_up():
    ingest_records(
        [record(1, quantity="0.0000005"), record(2, quantity="2.1234564"), record(3, quantity=1e3)]
    )

    quantities = dict(UsageRecord.objects.values_list("external_id", "quantity"))
    assert quantities == {"r-1": Decimal("0.000001"), "r-2": Decimal("2.123456"), "r-3": 1000}


def test_the_same_batch_twice_is_stored_once():
    batch = [record(n) for n in range(1, 6)]

    assert ingest_records(batch) == IngestResult(accepted=5, duplicates=0)
    assert ingest_records(batch) == IngestResult(accepted=0, duplicates=5)
    assert UsageRecord.objects.count() == 5


def test_an_id_sent_twice_in_one_batch_with_the_same_content_counts_once():
    result = ingest_records([record(1, quantity="2"), record(2), record(1, quantity=2.0)])

    assert result == IngestResult(accepted=2, duplicates=1)
    assert UsageRecord.objects.get(external_id="r-1").quantity == Decimal("2")


# What a resend may change without being a new record: nothing the record stores.
OTHER_CONTENT = {
    "quantity": {"quantity": "1.500001"},
    "metric": {"metric": "memory"},
    "start": {"start": "2026-10-20T13:00:01Z"},
    "end": {"end": "2026-10-20T14:00:01Z"},
    "service": {"service": "web"},
    "resource": {"resource": "vm-43"},
}


@pytest.mark.parametrize("change", OTHER_CONTENT.values(), ids=OTHER_CONTENT.keys())
def test_an_id_sent_again_with_other_content_refuses_the_batch(change):
    ingest_records([record(1, resource="vm-42")])
    before = stored()

    with pytest.raises(ConflictingBatch) as refused:
        ingest_records([record(2), record(1, **({"resource": "vm-42"} | change)), record(3)])

    assert refused.value.errors == [
        {"index": 1, "field": "id", "error": "already received with other content"}
    ]
    assert stored() == before
    assert UsageRecord.objects.get(external_id="r-1").quantity == Decimal("1.5")


@pytest.mark.parametrize("change", OTHER_CONTENT.values(), ids=OTHER_CONTENT.keys())
def test_an_id_twice_in_one_batch_with_other_content_refuses_the_batch(change):
    with pytest.raises(ConflictingBatch) as refused:
        ingest_records([record(1), record(2), record(1, **change), record(1)])

    assert refused.value.errors == [
        {"index": 2, "field": "id", "error": "already received with other content"}
    ]
    assert stored() == NOTHING


def test_a_resend_written_differently_but_meaning_the_same_is_a_duplicate():
    ingest_records([record(1, quantity="1.5", resource="vm-42")])

    again = record(
        1,
        quantity=1.5000001,  # 6 places, as stored
        service=" k8s-prod-eu1 ",
        start="2026-10-20T15:00:00+02:00",
        end="2026-10-20T14:00:00.000Z",
        resource="vm-42",
    )
    assert ingest_records([again]) == IngestResult(accepted=0, duplicates=1)


def test_every_conflict_of_a_batch_is_named(customers):
    ingest_records([record(1), record(2), record(1, customer="C-20001")])

    with pytest.raises(ConflictingBatch) as refused:
        ingest_records(
            [
                record(1, quantity="2"),
                record(2),
                record(1, customer="C-20001", quantity="3"),
                record(1, quantity="2"),
                record(4),
            ]
        )

    assert [(e["index"], e["field"]) for e in refused.value.errors] == [
        (0, "id"),
        (2, "id"),
        (3, "id"),
    ]


@pytest.mark.parametrize("size", [10, 1_000])
def test_comparing_a_resend_costs_the_same_few_queries_whatever_the_batch(
    size, django_assert_max_num_queries
):
    batch = [record(n) for n in range(size)]
    ingest_records(batch)

    with django_assert_max_num_queries(12):
        assert ingest_records(batch) == IngestResult(accepted=0, duplicates=size)
    with django_assert_max_num_queries(12), pytest.raises(ConflictingBatch):
        ingest_records([*batch[:-1], record(size - 1, quantity="9")])


def test_a_batch_mixing_new_and_known_ids_counts_each_kind():
    ingest_records([record(1), record(2)])

    result = ingest_records([record(2), record(3), record(3), record(1), record(4)])

    assert result == IngestResult(accepted=2, duplicates=3)
    assert UsageRecord.objects.count() == 4


def test_ids_are_unique_per_customer_not_across_customers():
    result = ingest_records([record(1), record(1, customer="C-20001")])

    assert result == IngestResult(accepted=2, duplicates=0)


def test_an_empty_batch_stores_nothing():
    assert ingest_records([]) == IngestResult(accepted=0, duplicates=0)


LONG = "x" * 121
SERVICE_CHARACTERS = "May hold letters, digits, spaces and . _ - : / ( ) # only"
FORMULA = "a spreadsheet would run it as a formula"

BAD_RECORDS = [
    # (what is wrong, the record's fields, the field named, the message)
    ("unknown customer", {"customer": "C-99999"}, "customer", "Unknown customer C-99999."),
    ("customer too long", {"customer": "C-" + "9" * 30}, "customer", "Unknown customer."),
    ("customer not a string", {"customer": 10001}, "customer", "Must be a string"),
    ("unknown metric", {"metric": "gpu"}, "metric", "Unknown metric"),
    ("metric of another case", {"metric": "CPU"}, "metric", "Unknown metric"),
    ("negative quantity", {"quantity": "-0.5"}, "quantity", "Must not be negative."),
    ("negative number", {"quantity": -3}, "quantity", "Must not be negative."),
    ("non-numeric quantity", {"quantity": "12,5"}, "quantity", "Must be a decimal number"),
    ("empty quantity", {"quantity": ""}, "quantity", "Must be a decimal number"),
    ("NaN as a string", {"quantity": "NaN"}, "quantity", "Must be a decimal number"),
    ("Infinity as a string", {"quantity": "Infinity"}, "quantity", "Must be a decimal number"),
    ("underscores", {"quantity": "1_000"}, "quantity", "Must be a decimal number"),
    ("NaN", {"quantity": float("nan")}, "quantity", "Must be a finite number."),
    ("Infinity", {"quantity": float("inf")}, "quantity", "Must be a finite number."),
    ("absurd quantity", {"quantity": "1000000000.000001"}, "quantity", "at most 1,000,000,000"),
    ("absurd exponent", {"quantity": "1e300"}, "quantity", "at most 1,000,000,000"),
    ("boolean quantity", {"quantity": True}, "quantity", "Must be a decimal number"),
    ("null quantity", {"quantity": None}, "quantity", "Must be a decimal number"),
    ("list quantity", {"quantity": [1]}, "quantity", "Must be a decimal number"),
    ("Arabic-Indic digit", {"quantity": "٣"}, "quantity", "Must be a decimal number"),
    ("full-width digits", {"quantity": "１２"}, "quantity", "Must be a decimal number"),
    ("Devanagari decimal", {"quantity": "1.३"}, "quantity", "Must be a decimal number"),
    (
        "end before start",
        {"start": "2026-10-20T13:00:00Z", "end": "2026-10-20T12:59:59Z"},
        "end",
        "Is before start.",
    ),
    (
        "interval over a day",
        {"start": "2026-10-20T00:00:00Z", "end": "2026-10-21T00:00:01Z"},
        "end",
        "longer than a day",
    ),
    (
        "start in the future",
        {"start": "2026-11-22T12:05:01Z", "end": "2026-11-22T13:00:00Z"},
        "start",
        "Is in the future (more than 5 minutes ahead of our clock).",
    ),
    (
        # 35 days (USAGE_ACCEPT_DAYS) before noon on 22 November is noon on 18 October.
        "start more than 35 days ago",
        {"start": "2026-10-18T11:59:59Z", "end": "2026-10-18T12:30:00Z"},
        "start",
        "Is more than 35 days ago; older usage is loaded with `manage.py import_usage --backfill`.",
    ),
    ("naive start", {"start": "2026-10-20T13:00:00"}, "start", "Needs a time zone"),
    ("a date, no time", {"end": "2026-10-20"}, "end", "Needs a time zone"),
    ("not a timestamp", {"start": "yesterday"}, "start", "Not an ISO 8601 timestamp"),
    ("timestamp as a number", {"start": 1792501200}, "start", "Must be an ISO 8601 timestamp"),
    ("out of range", {"start": "0001-01-01T00:30:00+01:00"}, "start", "Is out of range."),
    ("empty service", {"service": ""}, "service", "Must not be empty."),
    ("blank service", {"service": "   "}, "service", "Must not be empty."),
    ("service too long", {"service": LONG}, "service", "at most 120 characters"),
    ("service not a string", {"service": ["web"]}, "service", "Must be a string."),
    ("control character", {"service": "web\x00"}, "service", "printable UTF-8"),
    ("lone surrogate", {"service": "web\ud800"}, "service", "printable UTF-8"),
    ("zero-width space", {"service": "web\u200bapp"}, "service", SERVICE_CHARACTERS),
    ("right-to-left override", {"service": "\u202eexe.tset"}, "service", SERVICE_CHARACTERS),
    ("byte order mark", {"service": "\ufeffweb"}, "service", SERVICE_CHARACTERS),
    ("no-break space", {"service": "web\u00a0app"}, "service", SERVICE_CHARACTERS),
    ("a semicolon", {"service": "web;app"}, "service", SERVICE_CHARACTERS),
    ("markup", {"service": "<b>web</b>"}, "service", SERVICE_CHARACTERS),
    ("formula", {"service": "=HYPERLINK(evil)"}, "service", FORMULA),
    ("plus", {"service": "+1"}, "service", FORMULA),
    ("minus", {"service": "-2 web"}, "service", FORMULA),
    ("at", {"service": "@SUM(A1)"}, "service", FORMULA),
    ("tab then formula", {"service": "\t=1+1"}, "service", FORMULA),
    ("formula after ;", {"service": "web;=1+1"}, "service", FORMULA),
    ("formula after , and spaces", {"service": "web,  -1"}, "service", FORMULA),
    ("empty id", {"id": ""}, "id", "Must not be empty."),
    ("id too long", {"id": "i" * 201}, "id", "at most 200 characters"),
    ("id as a number", {"id": 42}, "id", "Must be a string."),
    ("resource too long", {"resource": "v" * 201}, "resource", "at most 200 characters"),
    ("resource as a number", {"resource": 42}, "resource", "Must be a string."),
    ("a field outside the contract", {"quantiy": "1"}, "quantiy", "Unknown field."),
]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [case[1:] for case in BAD_RECORDS],
    ids=[case[0] for case in BAD_RECORDS],
)
def test_an_invalid_record_is_reported_by_index_and_field_and_nothing_is_stored(
    fields, field, message
):
    ingest_records([record(100)])
    before = stored()
    batch = [record(1), record(2), record(3, **fields)]

    with pytest.raises(InvalidBatch) as refused:
        ingest_records(batch)

    assert len(refused.value.errors) == 1
    error = refused.value.errors[0]
    assert (error["index"], error["field"]) == (2, field)
    assert message in error["error"]
    assert stored() == before


@pytest.mark.parametrize(
    "field", ["id", "customer", "service", "metric", "quantity", "start", "end"]
)
def test_a_missing_field_is_named(field):
    bad = record(1)
    del bad[field]

    with pytest.raises(InvalidBatch) as refused:
        ingest_records([bad])

    assert refused.value.errors == [
        {"index": 0, "field": field, "error": "This field is required."}
    ]
    assert stored() == NOTHING


@pytest.mark.parametrize("bad", ["r-1", None, ["r-1"], 7])
def test_a_record_that_is_not_an_object_is_refused(bad):
    with pytest.raises(InvalidBatch) as refused:
        ingest_records([record(1), bad])

    assert refused.value.errors == [
        {"index": 1, "field": None, "error": "Must be an object with the record's fields."}
    ]
    assert stored() == NOTHING


def test_every_problem_of_every_record_is_listed_in_order():
    batch = [
        record(1),
        record(2, quantity="-1", end="2026-10-20T12:00:00Z"),
        record(3, customer="C-404"),
        {"id": "r-4"},
    ]

    with pytest.raises(InvalidBatch) as refused:
        ingest_records(batch)

    assert [(e["index"], e["field"]) for e in refused.value.errors] == [
        (1, "quantity"),
        (1, "end"),
        (2, "customer"),
        (3, "customer"),
        (3, "service"),
        (3, "metric"),
        (3, "quantity"),
        (3, "start"),
        (3, "end"),
    ]


def test_the_limits_themselves_are_accepted():
    batch = [
        record(1, quantity="1000000000"),
        record(2, quantity="0"),
        record(3, start="2026-10-20T00:00:00Z", end="2026-10-21T00:00:00Z"),  # exactly a day
        record(4, start="2026-10-20T13:00:00Z", end="2026-10-20T13:00:00Z"),  # an instant
        record(5, start="2026-11-22T12:05:00Z", end="2026-11-22T12:05:00Z"),  # clock skew
        record(6, service="s" * 120, id="i" * 200, resource="v" * 200),
        record(7, resource=None),
        record(8, resource=""),
        record(9, start="2026-10-18T12:00:00Z", end="2026-10-18T13:00:00Z"),  # 35 days ago
        record(10, service="k8s_prod-eu1.a:b/c (blue) #2"),  # every character allowed
        record(11, service="Ärende-tjänst नमस्ते ٣"),  # letters, marks and digits of any script
        record(12, service="web-1 - 2"),  # a minus inside is no formula
    ]

    assert ingest_records(batch) == IngestResult(accepted=12, duplicates=0)
    assert UsageRecord.objects.get(external_id="r-7").resource == ""


def test_the_import_rule_stores_the_valid_records_and_returns_the_others_problems():
    result, errors = ingest_valid_records(
        [record(1), record(2, metric="gpu"), record(3), record(1)]
    )

    assert result == IngestResult(accepted=2, duplicates=1)
    assert errors == [{"index": 1, "field": "metric", "error": errors[0]["error"]}]
    assert sorted(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-1", "r-3"]


def test_the_import_rule_stores_the_first_of_conflicting_records_and_names_the_others():
    ingest_records([record(1)])

    result, errors = ingest_valid_records(
        [record(1, quantity="2"), record(2), record(3), record(2, quantity="4"), record(4)]
    )

    assert result == IngestResult(accepted=3, duplicates=0)
    conflict = "already received with other content"
    assert errors == [
        {"index": 0, "field": "id", "error": conflict},
        {"index": 3, "field": "id", "error": conflict},
    ]
    quantities = dict(UsageRecord.objects.values_list("external_id", "quantity"))
    assert quantities == {f"r-{n}": Decimal("1.5") for n in range(1, 5)}
