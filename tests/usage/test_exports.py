"""The two CSVs of the metering contract, figure by figure, and what the page shows."""

import csv
import io
from decimal import Decimal

import pytest

from tests.usage.conftest import SUMMARY_CSV_HEADER, summary_rows
from tests.usage.test_page import ACME

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")


@pytest.fixture
def owner_client(client, owner, customer, rollup, now):
    rollup(customer, ACME)
    client.force_login(owner)
    return client


def download(client, path: str) -> tuple[str, list[list[str]]]:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    filename = response["Content-Disposition"].removeprefix('attachment; filename="')[:-1]
    return filename, list(csv.reader(io.StringIO(response.content.decode())))


def test_the_summary_csv_of_the_last_7_days(customer, owner_client):
    filename, rows = download(owner_client, "/usage/export.csv?range=7d")
    assert filename == f"usage-{customer.number}-2026-11-16_2026-11-22.csv"
    assert rows == [
        SUMMARY_CSV_HEADER,
        ["db", "0.0000", "1000.0000", "0.0000", "123.4560", "5.43"],
        # 7,300 GB-hours / 168 hours = 43.452380… GB
        ["web", "30.0000", "0.0000", "43.4524", "0.0000", "1.88"],
        ["Total Estimated Bill", "30.0000", "1000.0000", "43.4524", "123.4560", "7.31"],
    ]


def test_the_summary_csv_holds_what_the_table_shows(owner_client):
    for query in ["?range=7d", "?range=last-month", "?range=90d", "?month=2026-10&service=web"]:
        _, rows = download(owner_client, f"/usage/export.csv{query}")
        table = summary_rows(owner_client.get(f"/usage/{query}").content.decode())
        shown = [
            " ".join([name, *(f"{Decimal(q).quantize(CENT):,}" for q in quantities), f"€{cost}"])
            for name, *quantities, cost in rows[1:]
        ]
        assert shown == table, query


def test_a_month_and_one_service_in_the_file_name(customer, owner_client):
    filename, rows = download(owner_client, "/usage/export.csv?month=2026-10&service=web")
    assert filename == f"usage-{customer.number}-2026-10-web.csv"
    # 100 + 0.5 vCPU-hours: 3.1155 -> 3.12
    assert rows[1:] == [
        ["web", "100.5000", "0.0000", "0.0000", "0.0000", "3.12"],
        ["Total Estimated Bill", "100.5000", "0.0000", "0.0000", "0.0000", "3.12"],
    ]


def test_the_daily_csv_is_the_rollup_day_by_day(customer, owner_client):
    filename, rows = download(owner_client, "/usage/daily.csv?range=7d")
    assert filename == f"usage-daily-{customer.number}-2026-11-16_2026-11-22.csv"
    assert rows == [
        ["day", "service", "metric", "quantity", "unit", "estimated_cost_eur", "late"],
        ["2026-11-16", "web", "cpu", "10.0000", "vCPU-hours", "0.31", ""],
        ["2026-11-18", "web", "storage", "7300.0000", "GB-hours", "0.95", ""],
        ["2026-11-20", "db", "memory", "1000.0000", "GB-hours", "4.20", ""],
        ["2026-11-21", "db", "bandwidth", "123.4560", "GB", "1.23", ""],
        ["2026-11-22", "web", "cpu", "20.0000", "vCPU-hours", "0.62", ""],
    ]


def test_daily_rows_are_priced_one_by_one_so_cents_may_differ_from_the_month(
    customer, client, owner, rollup, now
):
    rollup(customer, [("web", "cpu", "2026-11-20", "0.5"), ("web", "cpu", "2026-11-21", "0.5")])
    client.force_login(owner)
    _, daily = download(client, "/usage/daily.csv?month=2026-11")
    _, summary = download(client, "/usage/export.csv?month=2026-11")
    # Each day: 0.5 x 0.031 = 0.0155 -> 0.02. The month: 1 x 0.031 = 0.031 -> 0.03.
    assert [row[5] for row in daily[1:]] == ["0.02", "0.02"]
    assert summary[-1][-1] == "0.03"


def test_names_that_a_spreadsheet_would_run_are_quoted(customer, client, owner, rollup, now):
    names = ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx", "plain=name"]
    rollup(customer, [(name, "cpu", "2026-11-20", "1") for name in names])
    client.force_login(owner)
    _, summary = download(client, "/usage/export.csv")
    _, daily = download(client, "/usage/daily.csv")
    quoted = sorted(["'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain=name"])
    assert sorted(row[0] for row in summary[1:-1]) == quoted
    assert sorted(row[1] for row in daily[1:]) == quoted


def test_every_text_cell_is_quoted_and_numbers_are_not(customer, owner_client):
    # Defence in depth beside the ' above: what reads the file tells text from numbers.
    summary = owner_client.get("/usage/export.csv?range=7d").content.decode().splitlines()
    daily = owner_client.get("/usage/daily.csv?range=7d").content.decode().splitlines()
    assert summary[0] == (
        '"service","cpu_vcpu_hours","memory_gb_hours","storage_avg_gb","bandwidth_gb",'
        '"estimated_cost_eur"'
    )
    assert summary[1] == '"db",0.0000,1000.0000,0.0000,123.4560,5.43'
    assert summary[-1] == '"Total Estimated Bill",30.0000,1000.0000,43.4524,123.4560,7.31'
    assert daily[1].startswith('"2026-11-')
    # day, service, metric, unit, late
    assert all(line.count('"') == 10 for line in daily[1:])


def test_another_customers_service_gives_an_empty_file(owner_client, outsider, rollup):
    rollup(outsider.memberships.get().customer, [("secret", "cpu", "2026-11-20", "999")])
    _, summary = download(owner_client, "/usage/export.csv?service=secret")
    _, daily = download(owner_client, "/usage/daily.csv?service=secret")
    assert summary[1:] == [["Total Estimated Bill", "0.0000", "0.0000", "0.0000", "0.0000", "0.00"]]
    assert daily[1:] == []


def test_the_page_offers_both_downloads_for_what_it_shows(owner_client):
    html = owner_client.get("/usage/?range=90d").content.decode()
    assert 'href="/usage/export.csv?range=90d" download>' in html
    assert 'href="/usage/daily.csv?range=90d" download>' in html
