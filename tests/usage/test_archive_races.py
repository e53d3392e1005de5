"""Archiving at the same time as other work: records stored between the check and the detach,
and a second archive or restore while one runs (PostgreSQL's locks, each on its own
connection)."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from tests.usage.archiving import MARCH, attached, invoiced, on, rows_of, stored_files
from usage import archive as usage_archive
from usage.aggregation import USAGE_LOCKS
from usage.archive import ArchiveRefused, archive_month, restore_month
from usage.ingest import ingest_records

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("postgres", "customers", "archive_clock"),
]


def test_records_stored_after_the_check_are_caught_when_the_partition_is_detached(
    archive, march, monkeypatch
):
    invoiced()
    monkeypatch.setattr(usage_archive, "refusal", lambda month: "")  # checked before r-8 came
    ingest_records([on("2026-03-12", 8)], backfill=True)

    with pytest.raises(ArchiveRefused) as refused:
        archive_month(MARCH)

    assert refused.value.reason == "1 records not counted into the rollup yet (aggregate_usage)"
    assert attached() and len(rows_of()) == 4 and stored_files(archive) == []


def test_one_archive_or_restore_at_a_time(archive, march):
    invoiced()
    lock = [USAGE_LOCKS, usage_archive.ARCHIVING]
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", lock)
            with pytest.raises(ArchiveRefused) as refused:
                archive_month(MARCH)
            with pytest.raises(ArchiveRefused):
                restore_month(MARCH)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
    finally:
        other.close()

    assert refused.value.reason == "another archive_usage or restore_usage is running"
    assert attached() and stored_files(archive) == []
    assert archive_month(MARCH).records == 3  # once the other has let go


@pytest.mark.django_db(transaction=True)
def test_a_detach_that_waits_too_long_for_the_raw_table_gives_up(archive, march, monkeypatch):
    # Committed for real: the other connection must see the partition.
    invoiced()
    before = rows_of()
    monkeypatch.setattr(usage_archive, "DETACH_WAIT_MS", 200)
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with reader.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE usage_usagerecord IN ACCESS SHARE MODE")  # a long query
            with pytest.raises(ArchiveRefused) as refused:
                archive_month(MARCH)
            cursor.execute("ROLLBACK")
    finally:
        reader.close()

    assert refused.value.reason == (
        "the raw table stayed busy for 0.2 s (a long query on it): nothing changed, try again"
    )
    assert attached() and rows_of() == before and stored_files(archive) == []
