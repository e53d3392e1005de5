"""archive_usage and restore_usage as staff run them, and what customers see of an archived
month: its invoice, the Usage page and the CSVs, unchanged."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Customer, Membership
from billing.invoicing import issue_monthly_invoice
from tests.factories import MembershipFactory
from tests.usage.archiving import MARCH, MARCH_RECORDS, attached, invoiced, on, rows_of
from tests.usage.conftest import summary_rows
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import ArchivedMonth
from usage.partitions import ensure_partitions

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.usefixtures("postgres", "customers", "archive_clock")


def run(command: str, *args) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def failing(command: str, *args) -> tuple[str, str]:
    """What the command printed, and the error it ended with."""
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(command, *args, stdout=out)
    return out.getvalue(), str(error.value)


@on_postgresql
def test_archive_usage_archives_each_month_it_may_and_names_the_others_with_why(archive):
    ingest_records([*MARCH_RECORDS, on("2026-04-02", 4)], backfill=True)
    ensure_partitions()  # March, April, and June (this month) to September
    aggregate_usage()
    invoiced()  # March, not April

    printed, error = failing("archive_usage", "--before", "2026-07")

    archived = ArchivedMonth.objects.get()
    assert printed.splitlines() == [
        f"2026-03: archived 3 records to raw-usage/2026-03.csv.gz ({archived.size} bytes, "
        f"SHA-256 {archived.sha256}).",
        "Refused 2026-04: not invoiced yet for C-20000 (issue_monthly_invoices --month 2026-04).",
        "Refused 2026-06: the current month: it is not over, usage still arrives for it.",
    ]
    assert error == "2 of 3 months refused (see above)."
    assert attached("usage_usagerecord_p2026_04") and not attached()

    again = run("archive_usage", "--before", "2026-04")
    assert again.splitlines() == [
        "2026-03: archived before, to raw-usage/2026-03.csv.gz.",
        "No month before 2026-04 has raw records to archive.",
    ]


@on_postgresql
def test_a_dry_run_says_what_it_would_archive_and_changes_nothing(archive):
    ingest_records(MARCH_RECORDS, backfill=True)
    ensure_partitions()
    aggregate_usage()
    invoiced()
    before = rows_of()

    printed = run("archive_usage", "--before", "2026-04", "--dry-run")

    assert printed == "2026-03: would be archived.\n"
    assert attached() and rows_of() == before
    assert not ArchivedMonth.objects.exists() and not archive.exists("raw-usage")


@on_postgresql
def test_restore_usage_brings_a_month_back_and_refuses_one_not_archived(
    archive, django_capture_on_commit_callbacks
):
    ingest_records(MARCH_RECORDS, backfill=True)
    ensure_partitions()
    aggregate_usage()
    invoiced()
    before = rows_of()
    run("archive_usage", "--before", "2026-04")

    with django_capture_on_commit_callbacks(execute=True):
        printed = run("restore_usage", "2026-03")
    _, error = failing("restore_usage", "2026-03")

    assert printed == "2026-03: restored 3 records from raw-usage/2026-03.csv.gz.\n"
    assert rows_of() == before
    assert error == "Not restored: 2026-03: not archived: its raw records are in the database."


@pytest.mark.both_databases
@pytest.mark.parametrize("value", ["2026-13", "abc", "2026-1", "2026-00", "", "2026-10-01"])
def test_a_month_that_is_not_yyyy_mm_is_refused(value):
    assert failing("archive_usage", "--before", value)[1] == (
        f"--before must be a month as YYYY-MM, e.g. 2026-10 (got {value!r})."
    )
    assert failing("restore_usage", value)[1] == (
        f"month must be a month as YYYY-MM, e.g. 2026-10 (got {value!r})."
    )


@pytest.mark.both_databases
def test_without_partitions_both_commands_refuse_and_say_why(monkeypatch):
    # The SQLite pass runs this as it is; on PostgreSQL the database says it is SQLite.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    message = (
        "Raw usage is partitioned by month on PostgreSQL only: this database (sqlite) keeps one "
        "raw table, with no month to archive or restore"
    )

    assert failing("archive_usage", "--before", "2026-01")[1] == f"{message}."
    assert failing("restore_usage", "2026-01")[1] == f"Not restored: {message}."


def csv_rows(client, path: str) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


@on_postgresql
def test_an_archived_months_invoice_usage_page_and_csvs_are_unchanged(
    archive, client, default_plan
):
    ingest_records(MARCH_RECORDS[:2], backfill=True)  # C-20000's 1.5 + 2.25 vCPU-hours
    ensure_partitions()
    aggregate_usage()
    customer = Customer.objects.get(number="C-20000")
    invoice, _ = issue_monthly_invoice(customer, MARCH, deliver=False)
    client.force_login(MembershipFactory(customer=customer, role=Membership.Role.OWNER).user)
    views = ["/usage/export.csv?month=2026-03", "/usage/daily.csv?month=2026-03"]
    before = [csv_rows(client, view) for view in views]
    page = summary_rows(client.get("/usage/?month=2026-03").content.decode())

    call_command("archive_usage", "--before", "2026-04", stdout=io.StringIO())

    assert rows_of() == []
    assert [csv_rows(client, view) for view in views] == before
    assert summary_rows(client.get("/usage/?month=2026-03").content.decode()) == page
    # 3.75 vCPU-hours at €0.031 = €0.11625 -> €0.12, on the page, the CSV and the invoice.
    assert before[0][1:] == [
        ["k8s-prod-eu1", "3.7500", "0.0000", "0.0000", "0.0000", "0.12"],
        ["Total Estimated Bill", "3.7500", "0.0000", "0.0000", "0.0000", "0.12"],
    ]
    assert [row[:4] for row in before[1][1:]] == [
        ["2026-03-01", "k8s-prod-eu1", "cpu", "1.5000"],
        ["2026-03-31", "k8s-prod-eu1", "cpu", "2.2500"],
    ]
    assert page == [
        "k8s-prod-eu1 3.75 0.00 0.00 0.00 €0.12",
        "Total Estimated Bill 3.75 0.00 0.00 0.00 €0.12",
    ]
    invoice.refresh_from_db()
    assert [(line.service, line.quantity, line.amount) for line in invoice.lines.all()] == [
        ("k8s-prod-eu1", Decimal("3.75"), Decimal("0.12"))
    ]
