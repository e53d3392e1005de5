"""Raw usage partitioned by month on PostgreSQL: each record in its month's partition (or the
default one), partitions made ahead, and an id refused again across partitions."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection

from tests.usage.records import record
from usage.aggregation import aggregate_usage
from usage.ingest import IngestResult, digest, ingest_records
from usage.models import DailyUsage, UsageRecord
from usage.partitions import ensure_partitions

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres", "customers")]

URL = "/api/v1/usage/"
TOKEN = "usage-token-0123456789-abcdefghijklmnop"
NOW = datetime.datetime(2031, 6, 15, 12, tzinfo=datetime.UTC)  # no partition exists yet


@pytest.fixture(autouse=True)
def frozen(time_machine, settings):
    settings.USAGE_INGEST_TOKEN = TOKEN
    time_machine.move_to(NOW, tick=False)


def at(day: str, n: int = 1, **fields) -> dict:
    """A record of an hour from noon on `day` (YYYY-MM-DD)."""
    return record(n, start=f"{day}T12:00:00Z", end=f"{day}T13:00:00Z", **fields)


def partition_of(external_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM usage_usagerecord WHERE external_id = %s",
            [external_id],
        )
        return [row[0] for row in cursor.fetchall()]


def partitions() -> dict[str, str]:
    """Each partition of the raw table by name, with its bounds as PostgreSQL states them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'usage_usagerecord'::regclass"
        )
        return dict(cursor.fetchall())


def post(client, records):
    return client.post(
        URL,
        json.dumps({"records": records}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def test_ensure_partitions_makes_this_month_and_three_ahead_once():
    made = ensure_partitions()

    expected = ["2031_06", "2031_07", "2031_08", "2031_09", "2031_10"]
    assert made == [f"usage_usagerecord_p{month}" for month in expected[:4]]
    bounds = partitions()
    for month, end in zip(expected, expected[1:], strict=False):
        low, high = month.replace("_", "-"), end.replace("_", "-")
        assert bounds[f"usage_usagerecord_p{month}"] == (
            f"FOR VALUES FROM ('{low}-01 00:00:00+00') TO ('{high}-01 00:00:00+00')"
        )
    assert bounds["usage_usagerecord_default"] == "DEFAULT"
    assert "usage_usagerecord_p2031_10" not in bounds
    assert ensure_partitions() == []  # idempotent
    assert partitions() == bounds


def test_a_record_lands_in_its_months_partition_and_a_month_without_one_in_the_default():
    ensure_partitions()

    ingest_records([at("2031-06-10", 1), at("2031-05-31", 2)])

    assert partition_of("r-1") == ["usage_usagerecord_p2031_06"]
    assert partition_of("r-2") == ["usage_usagerecord_default"]


def test_a_month_waiting_in_the_default_partition_gets_its_own_with_the_same_ids():
    ingest_records([at("2019-03-05", 1), at("2019-03-31", 2, quantity="2")], backfill=True)
    ids = dict(UsageRecord.objects.values_list("external_id", "pk"))
    assert partition_of("r-1") == ["usage_usagerecord_default"]

    made = ensure_partitions()

    assert "usage_usagerecord_p2019_03" in made
    assert partition_of("r-1") == partition_of("r-2") == ["usage_usagerecord_p2019_03"]
    assert dict(UsageRecord.objects.values_list("external_id", "pk")) == ids
    # Counted once, from where they now are.
    assert aggregate_usage() == 2
    assert sorted(DailyUsage.objects.values_list("day", "quantity")) == [
        (datetime.date(2019, 3, 5), Decimal("1.5")),
        (datetime.date(2019, 3, 31), Decimal("2")),
    ]


@pytest.mark.parametrize("months_partitioned", [True, False])
def test_an_id_again_in_another_month_is_a_conflict(client, months_partitioned):
    ingest_records([at("2031-05-20", 9)])
    if months_partitioned:
        ensure_partitions()  # May's and June's partitions, r-9 moved to May's
    expected = "usage_usagerecord_p2031_05" if months_partitioned else "usage_usagerecord_default"
    assert partition_of("r-9") == [expected]
    assert post(client, [at("2031-06-10")]).json() == {"accepted": 1, "duplicates": 0}

    response = post(client, [at("2031-05-31")])  # May's partition, or the default one

    assert response.status_code == 409, response.content
    assert response.json() == {
        "errors": [{"index": 0, "field": "id", "error": "already received with other content"}]
    }
    assert list(UsageRecord.objects.filter(external_id="r-1").values_list("start", flat=True)) == [
        datetime.datetime(2031, 6, 10, 12, tzinfo=datetime.UTC)
    ]


def test_the_same_record_again_is_a_duplicate_after_it_moved_partitions(client):
    ingest_records([at("2019-03-05", 1, resource="vm-1")], backfill=True)
    ensure_partitions()  # r-1 moves from the default partition to 2019-03's

    again = ingest_records([at("2019-03-05", 1, resource="vm-1")], backfill=True)

    assert again == IngestResult(accepted=0, duplicates=1)
    assert post(client, [at("2031-06-10", 1, resource="vm-1")]).status_code == 409
    assert UsageRecord.objects.count() == 1


@pytest.mark.parametrize(
    "content",
    [
        (7, "cpu", Decimal("1.500000"), "2031-06-10 12:00:00.000001+00", ""),
        (8, "storage", Decimal("1000000000.000000"), "1970-01-01 00:00:00+00", "vm|1 ö"),
        (9, "memory", Decimal("0.000001"), "1969-12-31 23:59:59.5+00", "a" * 200),
    ],
)
def test_the_sql_digest_is_the_python_one(content):
    service, metric, quantity, start, resource = content
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT usage_record_digest(%s, %s, %s, %s::timestamptz, %s::timestamptz, %s), "
            "%s::timestamptz",
            [service, metric, quantity, start, start, resource, start],
        )
        in_sql, moment = cursor.fetchone()

    assert in_sql == digest((1, service, metric, "r-1", quantity, moment, moment, resource))
    assert in_sql != digest((1, service, metric, "r-1", quantity, moment, moment, resource + "x"))
