"""Storing a batch the API decoded (usage.ingest.ingest_typed): on PostgreSQL its keys and
records are copied straight into their tables, and a batch meeting an id stored before goes
through the staging table instead; the outcome is the same either way."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer
from tests.usage.records import record
from usage.batch import decode_batch
from usage.ingest import ConflictingBatch, IngestResult, ingest_typed
from usage.models import RecordKey, UsageRecord

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.both_databases,
    pytest.mark.usefixtures("still_now", "customers"),
]


def send(*records: dict) -> IngestResult:
    return ingest_typed(decode_batch(json.dumps({"records": list(records)}).encode()))


def stored_ids() -> list[tuple[str, str]]:
    return sorted(UsageRecord.objects.values_list("external_id", "quantity"))


def test_a_batch_is_stored_exactly_as_sent_and_counted_by_customer_and_month(customers):
    result = send(
        record(1, id="a\\b", resource="vm\\1", service="Tjänst-é (eu)", quantity="2.0000005"),
        record(2, start="2026-10-31T23:30:00-02:00", end="2026-11-01T02:00:00Z", quantity=3),
        record(3, customer="C-20001", quantity=0.25),
    )

    first = UsageRecord.objects.get(external_id="a\\b")
    assert (first.resource, first.service.name, first.quantity) == (
        "vm\\1",
        "Tjänst-é (eu)",
        Decimal("2.000001"),  # half-up to 6 places
    )
    second = UsageRecord.objects.get(external_id="r-2")
    assert second.start == datetime.datetime(2026, 11, 1, 1, 30, tzinfo=datetime.UTC)
    assert second.quantity == Decimal(3)
    assert UsageRecord.objects.get(external_id="r-3").quantity == Decimal("0.25")
    a, b = customers
    assert result == IngestResult(accepted=3, duplicates=0)
    assert result.months == {
        (a.pk, datetime.date(2026, 10, 1)): 1,
        (a.pk, datetime.date(2026, 11, 1)): 1,
        (b.pk, datetime.date(2026, 10, 1)): 1,
    }
    assert RecordKey.objects.count() == 3


@pytest.mark.parametrize("order", ["stored first", "stored last"])
def test_a_batch_mixing_new_and_stored_ids_stores_the_new_and_counts_the_rest(order):
    send(record(1, quantity="5"))
    batch = [record(2, quantity="6"), record(3, quantity="7")]
    batch.insert(0 if order == "stored first" else 2, record(1, quantity="5"))

    result = send(*batch)

    assert (result.accepted, result.duplicates) == (2, 1)
    assert stored_ids() == [("r-1", Decimal(5)), ("r-2", Decimal(6)), ("r-3", Decimal(7))]


@pytest.mark.parametrize("order", ["stored first", "stored last"])
def test_a_stored_id_with_other_content_refuses_the_whole_batch(order):
    send(record(1, quantity="5"))
    batch = [record(2, quantity="6")]
    batch.insert(0 if order == "stored first" else 1, record(1, quantity="9"))

    with pytest.raises(ConflictingBatch) as refused:
        send(*batch)

    assert [error["index"] for error in refused.value.errors] == [
        0 if order == "stored first" else 1
    ]
    assert stored_ids() == [("r-1", Decimal(5))]
    assert RecordKey.objects.count() == 1


def test_an_id_twice_in_a_new_batch_is_stored_once_or_refused_when_it_differs():
    result = send(record(1), record(2), record(1))

    assert (result.accepted, result.duplicates) == (2, 1)
    with pytest.raises(ConflictingBatch) as refused:
        send(record(3), record(3, quantity="2"))
    assert [error["index"] for error in refused.value.errors] == [1]
    assert [external_id for external_id, _ in stored_ids()] == ["r-1", "r-2"]


def test_a_customer_deleted_takes_its_raw_usage_and_keys_along(customers):
    """The raw tables keep no foreign key constraints (they cost the ingest two lookups a
    record); Django's cascade still removes a deleted customer's records and keys."""
    send(record(1), record(2, customer="C-20001"))

    Customer.objects.filter(pk=customers[0].pk).delete()

    assert list(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-2"]
    assert list(RecordKey.objects.values_list("external_id", flat=True)) == ["r-2"]


def test_minus_zero_is_zero_so_its_resend_as_zero_is_a_duplicate():
    send(record(1, quantity="-0"))

    assert send(record(1, quantity=0)) == IngestResult(accepted=0, duplicates=1)
    assert stored_ids() == [("r-1", Decimal(0))]


def test_a_batch_sent_again_whole_is_all_duplicates_and_stores_nothing():
    batch = [record(1), record(2, customer="C-20001"), record(3, quantity="0.5")]
    send(*batch)
    before = stored_ids()

    with CaptureQueriesContext(connection) as queries:
        again = send(*reversed(batch))

    assert again == IngestResult(accepted=0, duplicates=3)
    assert stored_ids() == before and RecordKey.objects.count() == 3
    # A retry is counted from its keys alone: nothing is inserted, not even tried.
    assert not [q for q in queries if "INSERT INTO usage_recordkey" in q["sql"]]


def test_a_retry_with_one_record_changed_is_refused_whole():
    send(record(1), record(2), record(3))

    with pytest.raises(ConflictingBatch) as refused:
        send(record(1), record(2, quantity="9"), record(3))

    assert [error["index"] for error in refused.value.errors] == [1]
    assert stored_ids() == [
        ("r-1", Decimal("1.5")),
        ("r-2", Decimal("1.5")),
        ("r-3", Decimal("1.5")),
    ]
