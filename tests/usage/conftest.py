import datetime
import html
import re
from decimal import Decimal

import pytest
from django.core.files.storage import storages

from tests.factories import CustomerFactory
from tests.usage.archiving import MARCH_RECORDS, on
from tests.usage.archiving import NOW as ARCHIVE_NOW
from usage.aggregation import aggregate_usage
from usage.archive import STORAGE
from usage.ingest import ingest_records
from usage.models import DailyUsage, Service
from usage.partitions import ensure_partitions

# The summary CSV's header for a customer billed in euros (the metering contract's names).
SUMMARY_CSV_HEADER = [
    "service",
    "cpu_vcpu_hours",
    "memory_gb_hours",
    "storage_avg_gb",
    "bandwidth_gb",
    "estimated_cost_eur",
]

NOW = datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC)  # a Sunday


@pytest.fixture
def now(time_machine):
    """Sunday 22 November 2026, noon UTC: Last 7 Days is 16-22 Nov (Monday to Sunday), Last
    Month is October."""
    time_machine.move_to(NOW)
    return NOW


@pytest.fixture
def still_now(time_machine):
    """NOW with the clock stopped: every record of a test is judged at the same moment."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def customers():
    """The two customers the records of tests/usage/records.py are sent for."""
    return CustomerFactory(number="C-20000"), CustomerFactory(number="C-20001")


@pytest.fixture
def rollup():
    """rollup(customer, [(service name, metric, "YYYY-MM-DD", quantity), ...]): daily usage
    rows as the aggregation leaves them, services created on first sight."""

    def add(customer, rows):
        for name, metric, day, quantity in rows:
            service, _ = Service.objects.get_or_create(customer=customer, name=name)
            DailyUsage.objects.create(
                customer=customer,
                service=service,
                metric=metric,
                day=datetime.date.fromisoformat(day),
                quantity=Decimal(quantity),
            )

    return add


def text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags dropped, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def card(page: str, metric: str) -> str:
    match = re.search(
        rf'<div class="card metric-card" data-metric="{metric}">(.*?)</div>', page, re.S
    )
    assert match, f"no {metric} card"
    return text(match[1])


def summary_rows(page: str) -> list[str]:
    table = re.search(r'<table class="table usage-table">(.*?)</table>', page, re.S)
    assert table, "no summary table"
    return [text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table[1], re.S)[1:]]


@pytest.fixture
def archive(settings, tmp_path):
    """The storage archive_usage writes to (usage/archive.py), in a folder of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        STORAGE: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "archive"},
        },
    }
    return storages[STORAGE]


@pytest.fixture
def archive_clock(time_machine):
    """15 June 2026, noon UTC, the clock stopped: March is long invoiced, June is open."""
    time_machine.move_to(ARCHIVE_NOW, tick=False)


@pytest.fixture
def march():
    """Three records in March 2026 (two customers) and one in April, each in its month's
    partition and counted into the rollup."""
    ingest_records([*MARCH_RECORDS, on("2026-04-02", 4)], backfill=True)
    ensure_partitions()
    assert aggregate_usage() == 4
