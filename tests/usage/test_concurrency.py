"""Ingest and aggregation at the same moment on PostgreSQL: every record counted exactly once.

Each worker is a thread with its own database connection; the tests commit for real."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from tests.concurrency import ROW_LOCK_AWAITED, awaited, run_together, wait_until
from tests.usage.records import raw_totals, record, rollup
from usage import ingest
from usage.aggregation import aggregate_usage
from usage.batch import decode_batch
from usage.ingest import ingest_records, ingest_typed
from usage.models import Service, UsageRecord

# The records of tests/usage/records.py start on 20 October: within the ingest window of NOW.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres", "now"),
]

D = Decimal


def batch_of(worker: int, batch: int) -> list[dict]:
    """300 records over two customers, five services (new to everyone at first) and the hours
    around midnight UTC; 40 ids are sent by every worker with the same content, so most of
    those are duplicates."""
    records = []
    for k in range(300):
        shared = k < 40
        sender = 0 if shared else worker
        hour = (sender + batch + k) % 6 + 21  # 21:00 to 02:00
        day, hour = (20, hour) if hour < 24 else (21, hour - 24)
        records.append(
            record(
                0,
                id=f"shared-{batch}-{k}" if shared else f"w{worker}-b{batch}-{k}",
                customer="C-20000" if k % 3 else "C-20001",
                service=f"svc-{k % 5}",
                metric=("cpu", "memory", "storage", "bandwidth")[k % 4],
                quantity=f"{(sender * 7 + k) % 13}.125",
                start=f"2026-10-{day}T{hour:02d}:00:00Z",
                end=f"2026-10-{day}T{hour:02d}:59:59Z",
            )
        )
    return records


def test_sixteen_ingests_and_aggregations_at_once_count_every_record_once(customers):
    results, counted, finished = [], [], []
    workers = 16

    def ingest_worker(worker):
        # Half the workers send as the API does (typed: keys copied straight in, falling back
        # to the staging table at a shared id), half as the import does.
        def work():
            try:
                for batch in range(3):
                    records = batch_of(worker, batch)
                    if worker % 2:
                        results.append(ingest_typed(typed(records)))
                    else:
                        results.append(ingest_records(records))
            finally:
                finished.append(worker)

        return work

    def aggregator():
        while len(finished) < workers:
            counted.append(aggregate_usage(batch_size=500))

    errors = run_together(*(ingest_worker(w) for w in range(workers)), aggregator, aggregator)
    counted.append(aggregate_usage())

    assert errors == []
    sent = workers * 3 * 300
    stored_records = UsageRecord.objects.count()
    # 16 workers x 3 batches x 260 ids of their own, plus 3 x 40 shared ids stored once.
    assert stored_records == workers * 3 * 260 + 3 * 40
    assert sum(r.accepted for r in results) == stored_records
    assert sum(r.accepted + r.duplicates for r in results) == sent
    assert Service.objects.count() == 10  # five per customer, each created once
    assert sum(counted) == stored_records
    assert rollup() == raw_totals()


def test_an_ingest_still_in_flight_is_counted_once_it_commits(customers, monkeypatch):
    """Ids are drawn in order but committed in any order: a batch that took lower ids and
    commits after a later batch must not be skipped by an aggregation running in between."""
    inserted, release = threading.Event(), threading.Event()
    insert = ingest._insert_through_staging

    def insert_then_hold(rows, received_at, sender_id):
        accepted = insert(rows, received_at, sender_id)
        if threading.current_thread() is not threading.main_thread():
            inserted.set()
            release.wait(timeout=30)
        return accepted

    monkeypatch.setattr(ingest, "_insert_through_staging", insert_then_hold)
    Service.objects.create(customer=customers[0], name="k8s-prod-eu1")  # nothing else to wait for
    slow = threading.Thread(
        target=run_closing,
        args=(ingest_records, [record(1, quantity="5"), record(2, quantity="6")]),
    )
    slow.start()
    assert inserted.wait(timeout=30)
    ingest_records([record(3, quantity="0.5")])  # higher id, committed first
    aggregation = threading.Thread(target=run_closing, args=(aggregate_usage,))
    aggregation.start()
    wait_until(
        lambda: not aggregation.is_alive() or awaited(ADVISORY_LOCK_AWAITED),
        "the aggregation to wait for the lock of the ingest in flight",
    )
    release.set()
    slow.join()
    aggregation.join()

    aggregate_usage()

    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("11.5")}


def test_one_id_sent_at_once_with_other_content_is_stored_once_and_refused_once(
    customers, monkeypatch
):
    """The second batch cannot see the first's row until it commits: its insert waits for it,
    skips the id, and only then is the content compared."""
    inserted, release = threading.Event(), threading.Event()
    insert = ingest._insert_through_staging

    def insert_then_hold(rows, received_at, sender_id):
        months = insert(rows, received_at, sender_id)
        if rows[0][4] == Decimal("5"):  # the first sender's batch
            inserted.set()
            release.wait(timeout=30)
        return months

    monkeypatch.setattr(ingest, "_insert_through_staging", insert_then_hold)
    Service.objects.create(customer=customers[0], name="k8s-prod-eu1")  # nothing else to wait for
    refused = []

    def second_sender():
        try:
            ingest_records([record(1, quantity="6")])
        except ingest.ConflictingBatch as conflict:
            refused.append(conflict.errors)

    one_id_at_once((ingest_records, [record(1, quantity="5")]), inserted, second_sender, release)

    conflict = {"index": 0, "field": "id", "error": "already received with other content"}
    assert refused == [[conflict]]
    assert list(UsageRecord.objects.values_list("external_id", "quantity")) == [("r-1", D("5"))]


def test_one_id_copied_at_once_by_two_typed_batches_is_stored_once_and_refused_once(
    customers, monkeypatch
):
    """The API's path: the second batch's copy of the id waits for the first batch, fails
    once it commits, and the second batch goes through the staging table, which refuses it."""
    copied, release = threading.Event(), threading.Event()
    copy = ingest._copy_new

    def copy_then_hold(batch, *args):
        result = copy(batch, *args)
        if batch.records[0].quantity == "5":  # the first sender's batch
            copied.set()
            release.wait(timeout=30)
        return result

    monkeypatch.setattr(ingest, "_copy_new", copy_then_hold)
    Service.objects.create(customer=customers[0], name="k8s-prod-eu1")  # nothing else to wait for
    refused = []

    def second_sender():
        try:
            ingest_typed(typed([record(2, quantity="7"), record(1, quantity="6")]))
        except ingest.ConflictingBatch as conflict:
            refused.append(conflict.errors)

    one_id_at_once((ingest_typed, typed([record(1, quantity="5")])), copied, second_sender, release)

    conflict = {"index": 1, "field": "id", "error": "already received with other content"}
    assert refused == [[conflict]]
    assert list(UsageRecord.objects.values_list("external_id", "quantity")) == [("r-1", D("5"))]


def one_id_at_once(first: tuple, held: threading.Event, second, release: threading.Event) -> None:
    """Run `first` (work and its argument) until it holds its batch uncommitted (`held`), then
    `second` until it waits for that batch's id; then let the first commit, and both end."""
    first_sender = threading.Thread(target=run_closing, args=first)
    first_sender.start()
    assert held.wait(timeout=30)
    second_sender = threading.Thread(target=run_closing, args=(second,))
    second_sender.start()
    wait_until(
        lambda: awaited(ROW_LOCK_AWAITED), "the second batch to wait for the first's uncommitted id"
    )
    release.set()
    first_sender.join()
    second_sender.join()


def typed(records: list[dict]) -> list:
    return decode_batch(json.dumps({"records": records}).encode())


def test_two_overlapping_aggregations_count_each_record_once(customers):
    for batch in range(4):
        ingest_records(batch_of(worker=batch, batch=batch))
    counted = []

    def aggregation():
        counted.append(aggregate_usage(batch_size=100))

    errors = run_together(aggregation, aggregation)

    assert errors == []
    assert sum(counted) == UsageRecord.objects.count() == 4 * 300
    assert rollup() == raw_totals()


def run_closing(work, *args):
    try:
        work(*args)
    finally:
        connection.close()


# Another transaction of this database waits for the aggregation's advisory lock (a row lock:
# tests.concurrency.ROW_LOCK_AWAITED, an id another batch inserted and has not committed).
ADVISORY_LOCK_AWAITED = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
