"""The daily rollup: sums per UTC day equal the raw records, each record counted once."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F

from portal.celery import app as celery_app
from tests.usage.records import raw_totals, record, rollup
from usage import tasks
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import AggregationCursor, UsageRecord

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.both_databases,
    pytest.mark.usefixtures("still_now", "customers"),
]

D = Decimal


def at(day: str, start: str, end: str) -> dict:
    return {"start": f"{day}T{start}Z", "end": f"{day}T{end}Z"}


def test_daily_totals_are_the_sums_of_the_records_of_each_service_metric_and_day():
    ingest_records(
        [
            record(1, quantity="1.5", **at("2026-10-20", "00:00:00", "01:00:00")),
            record(2, quantity="2.25", **at("2026-10-20", "01:00:00", "02:00:00")),
            record(3, quantity="4", **at("2026-10-21", "00:00:00", "01:00:00")),
            record(
                4, quantity="10", metric="bandwidth", **at("2026-10-20", "05:00:00", "06:00:00")
            ),
            record(5, quantity="3", service="web", **at("2026-10-20", "05:00:00", "06:00:00")),
            record(
                6, quantity="0.5", customer="C-20001", **at("2026-10-20", "05:00:00", "06:00:00")
            ),
        ]
    )

    assert aggregate_usage() == 6

    assert rollup() == {
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("3.75"),  # 1.5 + 2.25
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-10-21"): D("4"),
        ("C-20000", "k8s-prod-eu1", "bandwidth", "2026-10-20"): D("10"),
        ("C-20000", "web", "cpu", "2026-10-20"): D("3"),
        ("C-20001", "k8s-prod-eu1", "cpu", "2026-10-20"): D("0.5"),
    }


def test_decimal_sums_are_exact():
    # Ten times 0.1 is 1 exactly (in binary floating point it would not be), and the sixth
    # decimal of a large quantity survives.
    ingest_records([record(n, quantity="0.1") for n in range(10)])
    ingest_records(
        [
            record(20, quantity="123456789.123456", metric="bandwidth"),
            record(21, quantity="0.000001", metric="bandwidth"),
        ]
    )

    aggregate_usage()

    assert rollup() == {
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("1.000000"),
        ("C-20000", "k8s-prod-eu1", "bandwidth", "2026-10-20"): D("123456789.123457"),
    }


def test_a_record_counts_on_the_utc_day_it_starts():
    ingest_records(
        [
            # Ends at 23:59:59 on the day it starts: that day.
            record(1, quantity="1", **at("2026-10-20", "23:00:00", "23:59:59")),
            # Starts a moment before midnight and runs into the next day: still its start day.
            record(
                2, quantity="2", start="2026-10-20T23:59:59.999999Z", end="2026-10-21T00:00:00Z"
            ),
            # Midnight itself belongs to the new day.
            record(3, quantity="4", **at("2026-10-21", "00:00:00", "00:30:00")),
            # 01:30 in Stockholm's summer time is 23:30 UTC the day before.
            record(
                4, quantity="8", start="2026-10-21T01:30:00+02:00", end="2026-10-21T02:00:00+02:00"
            ),
        ]
    )
    assert aggregate_usage() == 4

    assert rollup() == {
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("11"),  # 1 + 2 + 8
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-10-21"): D("4"),
    }


def test_a_late_record_for_an_old_day_adds_to_that_day():
    old_day = at("2026-09-01", "10:00:00", "11:00:00")  # before the ingest window: a backfill
    ingest_records([record(1, quantity="5", **old_day)], backfill=True)
    ingest_records([record(2, quantity="1", **at("2026-11-21", "10:00:00", "11:00:00"))])
    aggregate_usage()

    late = at("2026-09-01", "12:00:00", "13:00:00")
    ingest_records([record(3, quantity="0.25", **late)], backfill=True)

    assert aggregate_usage() == 1
    assert rollup() == {
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-09-01"): D("5.25"),
        ("C-20000", "k8s-prod-eu1", "cpu", "2026-11-21"): D("1"),
    }


def test_two_aggregations_in_a_row_count_nothing_twice():
    ingest_records([record(n, quantity="2") for n in range(1, 4)])

    assert aggregate_usage() == 3
    assert aggregate_usage() == 0

    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("6")}


def test_duplicates_are_not_counted_again():
    batch = [record(n, quantity="2") for n in range(1, 4)]
    ingest_records(batch)
    aggregate_usage()

    ingest_records(batch)

    assert aggregate_usage() == 0
    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("6")}


def test_small_batches_count_every_record_once():
    days = [f"2026-11-{day:02d}" for day in range(1, 11)]
    ingest_records(
        [
            record(n, quantity=str(n), **at(day, "10:00:00", "11:00:00"))
            for n, day in enumerate(days * 3)
        ]
    )

    assert aggregate_usage(batch_size=7) == 30

    assert rollup() == raw_totals()
    # 1 November holds records 0, 10 and 20.
    assert rollup()["C-20000", "k8s-prod-eu1", "cpu", "2026-11-01"] == D("30")
    assert AggregationCursor.objects.get().last_record_id == max_record_id()


def test_gaps_between_record_ids_cost_no_statements(django_assert_max_num_queries):
    # Ids have gaps: a duplicate skipped by ON CONFLICT draws an id all the same. Batches are
    # counted in records, so a gap of 100,000 ids is crossed in one step, not 14,286 of 7.
    ingest_records([record(n, quantity="1") for n in range(20)])
    UsageRecord.objects.filter(external_id__in=[f"r-{n}" for n in range(10, 20)]).update(
        id=F("id") + 100_000
    )

    with django_assert_max_num_queries(40):  # 3 batches of 7, a handful of statements each
        assert aggregate_usage(batch_size=7) == 20

    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("20")}
    assert AggregationCursor.objects.get().last_record_id == max_record_id()


def max_record_id() -> int:
    return UsageRecord.objects.order_by("-pk").values_list("pk", flat=True).first()


def test_the_task_and_the_command_count_the_new_records(capsys):
    ingest_records([record(1), record(2)])
    assert tasks.aggregate_usage.delay().get() == 2

    ingest_records([record(3)])
    call_command("aggregate_usage")

    assert capsys.readouterr().out == "Counted 1 new usage record into the daily rollup.\n"
    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-20"): D("4.5")}


def test_beat_runs_the_aggregation_every_five_minutes():
    entry = next(
        e for e in celery_app.conf.beat_schedule.values() if e["task"] == tasks.aggregate_usage.name
    )

    assert entry["schedule"].minute == set(range(0, 60, 5))
