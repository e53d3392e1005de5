"""Archiving the raw usage of invoiced months and restoring it, on PostgreSQL: the partition
detached, written with its checksum and dropped; the same rows back with their ids; every
refusal changing nothing; ids of archived months still refused again."""

import csv
import datetime
import gzip
import hashlib
import io
import json
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Customer
from billing.invoicing import issue_monthly_invoice
from tests.usage.archiving import (
    FILE,
    HEADER,
    MARCH,
    MARCH_RECORDS,
    TABLE,
    TOKEN,
    attached,
    invoiced,
    on,
    rows_of,
    stored_files,
    table_exists,
)
from tests.usage.records import rollup
from usage.aggregation import aggregate_usage
from usage.archive import ArchiveRefused, archive_month, restore_month
from usage.ingest import ConflictingBatch, IngestResult, ingest_records
from usage.models import ArchivedMonth, LateUsage, UsageRecord
from usage.partitions import create_partition, ensure_partitions

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("postgres", "customers", "archive_clock"),
]


def test_archiving_detaches_writes_and_drops_the_months_partition(archive, march):
    invoiced()
    before, counted = rows_of(), rollup()

    archived = archive_month(MARCH)

    assert not table_exists()
    assert rows_of() == []
    assert list(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-4"]
    assert (archived.month, archived.file, archived.records) == (MARCH, FILE, 3)
    content = archive.open(FILE).read()
    assert archived.size == len(content) == archive.size(FILE)
    assert archived.sha256 == hashlib.sha256(content).hexdigest()
    lines = list(csv.reader(io.StringIO(gzip.decompress(content).decode())))
    assert lines[0] == HEADER.split(",")
    by_id = sorted(lines[1:], key=lambda line: int(line[0]))
    assert [line[0] for line in by_id] == [str(row[0]) for row in before]
    assert [(line[4], line[5], line[6], line[8]) for line in by_id] == [
        ("r-1", "1.500000", "2026-03-01 12:00:00+00", ""),
        ("r-2", "2.250000", "2026-03-31 12:00:00+00", "vm-7"),
        ("r-3", "0.000001", "2026-03-10 12:00:00+00", ""),
    ]
    assert ArchivedMonth.objects.get() == archived
    assert rollup() == counted  # the rollup never reads raw records


def test_restoring_brings_back_the_same_rows_with_their_ids_counted_once(
    archive, march, django_capture_on_commit_callbacks
):
    invoiced()
    before, counted = rows_of(), rollup()
    first = archive_month(MARCH)

    with django_capture_on_commit_callbacks(execute=True):
        restored = restore_month(MARCH)

    assert restored.records == 3
    assert rows_of() == before
    assert attached()
    assert not ArchivedMonth.objects.exists()
    assert stored_files(archive) == []  # the database holds the records again
    assert aggregate_usage() == 0  # their ids are below the cursor: not counted again
    assert rollup() == counted
    # The month may be archived again: the same records make the same file.
    assert archive_month(MARCH).sha256 == first.sha256


def test_an_archived_id_sent_again_is_a_duplicate_or_a_conflict(archive, march, client, settings):
    invoiced()
    archive_month(MARCH)
    settings.USAGE_INGEST_TOKEN = TOKEN

    again = ingest_records([MARCH_RECORDS[0]], backfill=True)
    with pytest.raises(ConflictingBatch) as conflict:
        ingest_records([{**MARCH_RECORDS[1], "quantity": "3"}], backfill=True)
    in_june = client.post(  # the same id again, this month, through the API
        "/api/v1/usage/",
        json.dumps({"records": [on("2026-06-15", 3, "C-20001", metric="memory")]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert again == IngestResult(accepted=0, duplicates=1)
    conflicting = [{"index": 0, "field": "id", "error": "already received with other content"}]
    assert conflict.value.errors == conflicting
    assert (in_june.status_code, in_june.json()) == (409, {"errors": conflicting})
    assert list(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-4"]


def test_a_month_not_invoiced_for_every_customer_is_refused_and_kept(archive, march):
    invoiced(MARCH, "C-20000")
    before = rows_of()

    with pytest.raises(ArchiveRefused) as refused:
        archive_month(MARCH)

    assert refused.value.reason == (
        "not invoiced yet for C-20001 (issue_monthly_invoices --month 2026-03)"
    )
    assert attached() and rows_of() == before
    assert stored_files(archive) == [] and not ArchivedMonth.objects.exists()


def test_a_month_that_billed_nothing_is_closed_by_its_run_and_archived(archive, march, customers):
    invoiced(MARCH, "C-20000")
    # C-20001's March, a millionth of a GB-hour, prints as 0.0000: no invoice, month closed.
    assert issue_monthly_invoice(customers[1], MARCH, deliver=False) == (None, False)

    assert archive_month(MARCH).records == 3
    assert not table_exists()


def test_records_not_counted_yet_or_held_back_keep_the_month(archive, settings):
    ingest_records([*MARCH_RECORDS, on("2026-03-05", 5, quantity="2000")], backfill=True)
    ensure_partitions()
    invoiced()

    with pytest.raises(ArchiveRefused) as uncounted:
        archive_month(MARCH)
    settings.USAGE_MONTH_QUANTITY_MAX = 1000  # r-5 would take C-20000's March past it
    aggregate_usage()
    with pytest.raises(ArchiveRefused) as held:
        archive_month(MARCH)

    assert uncounted.value.reason == "4 records not counted into the rollup yet (aggregate_usage)"
    # C-20000's three records held; C-20001's counted, after its month was invoiced: late.
    assert held.value.reason == (
        "3 records held back by the aggregation (Admin › Held records); late usage of it waits "
        "for the next invoice of C-20001"
    )
    assert attached() and len(rows_of()) == 4 and stored_files(archive) == []


def test_late_usage_waiting_for_an_invoice_keeps_the_month(archive, march, default_plan):
    invoiced()
    ingest_records([on("2026-03-20", 6, quantity="4")], backfill=True)
    aggregate_usage()  # counted after March was closed: late usage, for the next invoice
    assert LateUsage.objects.filter(billed__isnull=True).count() == 1

    with pytest.raises(ArchiveRefused) as refused:
        archive_month(MARCH)

    assert refused.value.reason == "late usage of it waits for the next invoice of C-20000"
    assert attached() and len(rows_of()) == 4 and stored_files(archive) == []

    invoice, _ = issue_monthly_invoice(
        Customer.objects.get(number="C-20000"), MARCH.replace(month=5), deliver=False
    )
    assert invoice.lines.filter(late=True, month=MARCH).exists()
    assert archive_month(MARCH).records == 4


def test_months_that_records_may_still_arrive_for_are_refused(archive, settings):
    ensure_partitions()  # June (this month) to September
    create_partition(datetime.date(2026, 5, 1))
    may = [on("2026-05-31", 9)]
    ingest_records(may)  # 15 days ago: within the API's window
    aggregate_usage()
    invoiced(datetime.date(2026, 5, 1), "C-20000")

    refused = {}
    for month in [5, 6, 7]:
        with pytest.raises(ArchiveRefused) as refusal:
            archive_month(datetime.date(2026, month, 1))
        refused[month] = refusal.value.reason

    assert refused == {
        # The last record the API takes of May starts 35 days before 1 June + 35 days.
        5: "the ingest API takes records of it until 2026-07-06 00:00 UTC (USAGE_ACCEPT_DAYS=35)",
        6: "the current month: it is not over, usage still arrives for it",
        7: "a future month",
    }
    assert all(attached(f"usage_usagerecord_p2026_0{month}") for month in [5, 6, 7])
    settings.USAGE_ACCEPT_DAYS = 14
    assert archive_month(datetime.date(2026, 5, 1)).records == 1


def test_a_month_archived_before_is_refused_and_one_not_archived_is_not_restored(archive, march):
    invoiced()
    archive_month(MARCH)

    with pytest.raises(ArchiveRefused) as twice:
        archive_month(MARCH)
    with pytest.raises(ArchiveRefused) as never:
        restore_month(datetime.date(2026, 4, 1))

    assert twice.value.reason == (
        f"already archived, to {FILE} on 2026-06-15 12:00 UTC: restore_usage 2026-03 first to "
        "archive it again"
    )
    assert never.value.reason == "not archived: its raw records are in the database"
    assert stored_files(archive) == ["2026-03.csv.gz"]


def test_records_that_arrive_for_an_archived_month_are_kept_beside_the_restored_ones(
    archive, march, django_capture_on_commit_callbacks
):
    invoiced()
    before = rows_of()
    archive_month(MARCH)
    ingest_records([on("2026-03-15", 7)], backfill=True)  # to the default partition
    ensure_partitions()  # March's partition again, for r-7
    aggregate_usage()

    with pytest.raises(ArchiveRefused) as refused:
        archive_month(MARCH)
    with django_capture_on_commit_callbacks(execute=True):
        restore_month(MARCH)

    assert "(records that arrived for it since are in a partition again)" in refused.value.reason
    assert [row[4] for row in rows_of()] == ["r-1", "r-2", "r-3", "r-7"]
    assert rows_of()[:3] == before


def test_a_damaged_file_is_refused_and_nothing_is_stored(archive, march):
    invoiced()
    archived = archive_month(MARCH)
    path = archive.path(FILE)
    with open(path, "r+b") as file:
        file.seek(20)
        byte = file.read(1)
        file.seek(20)
        file.write(bytes([byte[0] ^ 1]))

    with pytest.raises(ArchiveRefused) as refused:
        restore_month(MARCH)

    assert refused.value.reason == (
        f"{FILE} does not match its SHA-256 ({archived.sha256}): the file is damaged or was "
        "changed; nothing restored"
    )
    assert not table_exists() and rows_of() == []
    assert ArchivedMonth.objects.get() == archived and archive.exists(FILE)


def test_a_missing_file_is_refused(archive, march):
    invoiced()
    archive_month(MARCH)
    archive.delete(FILE)

    with pytest.raises(ArchiveRefused) as refused:
        restore_month(MARCH)

    assert refused.value.reason == f"{FILE} is missing from the archive storage"
    assert not table_exists() and ArchivedMonth.objects.exists()


def test_a_failed_write_attaches_the_partition_again(archive, march, monkeypatch):
    invoiced()
    before = rows_of()

    def full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(archive, "save", full)
    with pytest.raises(OSError, match="No space left"):
        archive_month(MARCH)

    assert attached() and rows_of() == before and not ArchivedMonth.objects.exists()


def test_a_run_stopped_after_detaching_is_finished_by_the_next(archive, march):
    invoiced()
    before = rows_of()
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE usage_usagerecord DETACH PARTITION {TABLE}")

    archived = archive_month(MARCH)

    assert archived.records == len(before) == 3
    assert not table_exists()


def test_quantities_survive_the_file_to_the_millionth(
    archive, march, django_capture_on_commit_callbacks
):
    invoiced()
    archive_month(MARCH)
    with django_capture_on_commit_callbacks(execute=True):
        restore_month(MARCH)

    assert sorted(UsageRecord.objects.values_list("external_id", "quantity")) == [
        ("r-1", Decimal("1.5")),
        ("r-2", Decimal("2.25")),
        ("r-3", Decimal("0.000001")),
        ("r-4", Decimal("1.5")),
    ]


def test_a_file_naming_a_column_the_table_no_longer_has_is_refused(archive, march):
    invoiced()
    archived = archive_month(MARCH)
    # As if the raw table had lost a column since: the file names one the table has not.
    content = gzip.decompress(archive.open(FILE).read()).replace(b",resource,", b",rack,", 1)
    packed = gzip.compress(content)
    with open(archive.path(FILE), "wb") as file:
        file.write(packed)
    archived.sha256, archived.size = hashlib.sha256(packed).hexdigest(), len(packed)
    archived.save()

    with pytest.raises(ArchiveRefused) as refused:
        restore_month(MARCH)

    assert refused.value.reason == "the file has columns the raw table no longer has: rack"
    assert not table_exists() and ArchivedMonth.objects.exists()
