"""Every usage table can be distributed by customer with Citus as it is (docs/scaling.md, "Past
one database"), read from PostgreSQL's catalogue: a distributed table holds customer_id in
every primary and unique key, and the foreign keys run only where Citus allows them (into
reference tables, or between local tables). A new usage table fails here until it is given a
kind, here and in the docs."""

import pytest
from django.db import connection

from tests.factories import CustomerFactory
from tests.migrating import migrate, migrate_to_latest
from usage.models import ClosedMonth, DailyUsage, HeldRecord, Service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]

# Sharded by customer_id, co-located: what grows with the usage.
DISTRIBUTED = {
    "usage_usagerecord",
    "usage_recordkey",
    "usage_dailyusage",
    "usage_heldrecord",
    "usage_closedmonth",
}
# A copy on every node: small, read with the usage everywhere.
REFERENCE = {
    "accounts_customer",
    "usage_service",
    "usage_customerplan",
    "usage_pricingplan",
    "usage_price",
    "usage_defaultplan",
}
# On the coordinator only: what the ingest API and billing read and write there.
LOCAL = {
    "usage_aggregationcursor",
    "usage_archivedmonth",
    "usage_lateusage",  # billing's billed late usage points at it
    "usage_sender",
    "usage_ingesttoken",
    "usage_ingesttoken_customers",
    "usage_senderday",
}


def kind(table: str) -> str:
    if table in DISTRIBUTED:
        return "distributed"
    return "reference" if table in REFERENCE else "local"


def usage_tables() -> set[str]:
    """The usage app's tables, not the raw table's monthly partitions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND c.relname LIKE 'usage\\_%%' AND NOT c.relispartition"
        )
        return {name for (name,) in cursor}


def keys(table: str) -> list[tuple[str, list[str]]]:
    """The table's primary and unique keys: (name, columns)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT con.conname, array_agg(a.attname ORDER BY k.n) "
            "FROM pg_constraint con "
            "CROSS JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
            "WHERE con.conrelid = %s::regclass AND con.contype IN ('p', 'u') "
            "GROUP BY con.conname",
            [table],
        )
        return sorted(cursor.fetchall())


def foreign_keys() -> list[tuple[str, str]]:
    """Every foreign key constraint in the database: (from table, to table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f'"
        )
        return sorted(cursor.fetchall())


def test_every_usage_table_has_a_kind():
    assert usage_tables() == (DISTRIBUTED | REFERENCE | LOCAL) - {"accounts_customer"}


def test_every_key_of_a_distributed_table_holds_the_customer():
    missing = {
        (table, name, tuple(columns))
        for table in DISTRIBUTED
        for name, columns in keys(table)
        if "customer_id" not in columns
    }

    assert missing == set()
    # The rollup and the key table are found by their natural keys, customer first.
    assert ("one_rollup_per_day", ["customer_id", "service_id", "metric", "day"]) in keys(
        "usage_dailyusage"
    )
    assert keys("usage_recordkey") == [("usage_recordkey_pkey", ["customer_id", "external_id"])]


def test_foreign_keys_run_only_where_citus_allows_them():
    """Into a reference table from anywhere; into a local table from a local one; never into a
    distributed table (a key between two of them would need the customer in both)."""
    tables = DISTRIBUTED | REFERENCE | LOCAL
    refused = [
        (source, target)
        for source, target in foreign_keys()
        if (source in tables or target in tables)
        and not (
            kind(target) == "reference" or (kind(target) == "local" and kind(source) == "local")
        )
    ]

    assert refused == []


def test_the_keys_go_back_and_forth_with_the_rows(back_to_latest):
    customer = CustomerFactory()
    service = Service.objects.create(customer=customer, name="k8s-prod-eu1")
    rollup = DailyUsage.objects.create(
        customer=customer, service=service, metric="cpu", day="2026-11-02", quantity=1
    )
    ClosedMonth.objects.create(customer=customer, month="2026-10-01")
    HeldRecord.objects.create(record_id=41, customer=customer, month="2026-11-01")

    migrate([("usage", "0010_archived_months")])
    before = {table: keys(table) for table in ("usage_dailyusage", "usage_heldrecord")}
    migrate_to_latest()

    assert before == {
        "usage_dailyusage": [
            ("one_rollup_per_day", ["customer_id", "service_id", "metric", "day"]),
            ("usage_dailyusage_pkey", ["id"]),
        ],
        "usage_heldrecord": [("usage_heldrecord_pkey", ["record_id"])],
    }
    assert ("usage_dailyusage_pkey", ["customer_id", "id"]) in keys("usage_dailyusage")
    assert DailyUsage.objects.get(pk=rollup.pk).quantity == 1
    assert HeldRecord.objects.get(pk=41).customer == customer
    assert ClosedMonth.objects.get().customer == customer
