"""The daily rollup: sums per UTC day equal the raw records, each record counted once."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F

from portal.celery import app as celery_app
from tests.usage.records import raw_totals, record, rollup
from usage import tasks
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import AggregationCursor, HeldRecord, Sender, Service, UsageRecord

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
    # Ids have gaps: a duplicate skipped by ON CONFLICT draws an id all the same. A batch starts
    # at the next record, so a gap of 100,000 ids is crossed in one step, not 14,286 of 7.
    ingest_records([record(n, quantity="1") for n in range(20)])
    UsageRecord.objects.filter(external_id__in=[f"r-{n}" for n in range(10, 20)]).update(
        id=F("id") + 100_000
    )

    # 4 batches of 7 ids, two on each side of the gap, a handful of statements each (on SQLite
    # one more each, the late usage); a statement per id of the gap would be 100,000
    with django_assert_max_num_queries(56):
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


def huge_record(customer, n, quantity, day="2026-11-20"):
    """A record beyond what one customer's month may hold, stored as it is (the columns take
    it: ingest refuses records over 10^9, but a month of them adds up)."""
    start = datetime.datetime.fromisoformat(f"{day}T10:00:00+00:00")
    service, _ = Service.objects.get_or_create(customer=customer, name="runaway")
    return UsageRecord.objects.create(
        customer=customer,
        sender=Sender.named(Sender.IMPORT),
        service=service,
        metric="storage",
        external_id=f"huge-{n}",
        quantity=D(quantity),
        start=start,
        end=start + datetime.timedelta(hours=1),
    )


def test_a_day_too_large_to_roll_up_is_held_and_everyone_elses_usage_is_counted(customers):
    runaway, other = customers
    ingest_records([record(1, customer="C-20001", **at("2026-11-20", "09:00:00", "10:00:00"))])
    # Two records of 9 x 10^16 GB-hours: 1.8 x 10^17 on one day, more than the rollup's column
    # holds (PostgreSQL raised "numeric field overflow" on every run, the cursor never moved).
    huge_record(runaway, 1, "90000000000000000")
    huge_record(runaway, 2, "90000000000000000")
    ingest_records([record(2, customer="C-20001", **at("2026-11-21", "09:00:00", "10:00:00"))])

    assert aggregate_usage() == 2
    assert rollup() == {
        ("C-20001", "k8s-prod-eu1", "cpu", "2026-11-20"): D("1.5"),
        ("C-20001", "k8s-prod-eu1", "cpu", "2026-11-21"): D("1.5"),
    }
    assert AggregationCursor.objects.get().last_record_id == UsageRecord.objects.latest("id").id
    held = HeldRecord.objects.order_by("record__external_id")
    assert [(h.record.external_id, h.customer, h.month) for h in held] == [
        ("huge-1", runaway, datetime.date(2026, 11, 1)),
        ("huge-2", runaway, datetime.date(2026, 11, 1)),
    ]
    # The next runs try them again, count nothing twice, and are not stopped by them.
    ingest_records([record(3, customer="C-20001", **at("2026-11-22", "09:00:00", "10:00:00"))])
    assert aggregate_usage() == 1
    assert HeldRecord.objects.count() == 2


def test_held_records_are_counted_once_their_month_fits(customers, settings, admin_client):
    runaway, _ = customers
    settings.USAGE_MONTH_QUANTITY_MAX = 2 * 10**9
    ingest_records(
        [
            record(n, customer="C-20000", quantity="1000000000", **at(day, "09:00:00", "10:00:00"))
            for n, day in [(1, "2026-11-01"), (2, "2026-11-02"), (3, "2026-11-03")]
        ]
        + [record(4, customer="C-20000", quantity="5", **at("2026-10-31", "09:00:00", "10:00:00"))]
    )

    # November's 3 x 10^9 would pass the bound: all three are held; October is counted.
    assert aggregate_usage() == 1
    assert rollup() == {("C-20000", "k8s-prod-eu1", "cpu", "2026-10-31"): D("5")}
    assert HeldRecord.objects.filter(customer=runaway, month="2026-11-01").count() == 3
    page = admin_client.get("/admin/usage/heldrecord/").content.decode()
    assert "r-1" in page and "r-3" in page and "C-20000" in page

    settings.USAGE_MONTH_QUANTITY_MAX = 10**16  # put right (here: the bound as shipped)
    assert aggregate_usage() == 3
    assert not HeldRecord.objects.exists()
    assert rollup() == raw_totals()
    assert aggregate_usage() == 0  # counted once
    assert rollup() == raw_totals()
