"""The archive tests' month: records of March 2026 and what the database holds of them
(usage/archive.py; the fixtures are in conftest.py)."""

import datetime

from django.db import connection

from accounts.models import Customer
from tests.usage.records import record
from usage.services import close_month

NOW = datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC)
MARCH = datetime.date(2026, 3, 1)
TOKEN = "usage-token-0123456789-abcdefghijklmnop"
TABLE = "usage_usagerecord_p2026_03"
FILE = "raw-usage/2026-03.csv.gz"
# The raw table's columns, in the order the file's header names them.
HEADER = (
    "id,customer_id,service_id,metric,external_id,quantity,start,end,resource,received_at,sender_id"
)
SELECTED = HEADER.replace(",end,", ',"end",')


def on(day: str, n: int, customer: str = "C-20000", **fields) -> dict:
    """A record of an hour from noon on `day` (YYYY-MM-DD)."""
    return record(n, customer, start=f"{day}T12:00:00Z", end=f"{day}T13:00:00Z", **fields)


MARCH_RECORDS = [
    on("2026-03-01", 1, quantity="1.5"),
    on("2026-03-31", 2, quantity="2.25", resource="vm-7"),
    on("2026-03-10", 3, "C-20001", metric="memory", quantity="0.000001"),
]


def invoiced(month=MARCH, *numbers):
    """The month closed as its invoice closes it, for the customers numbered (both: none named)."""
    for number in numbers or ("C-20000", "C-20001"):
        close_month(customer=Customer.objects.get(number=number), month=month)


def rows_of(month=MARCH) -> list[tuple]:
    """Every column of the month's raw records, by id."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {SELECTED} FROM usage_usagerecord "
            "WHERE start >= %s AND start < %s ORDER BY id",
            [month, datetime.date(month.year, month.month + 1, 1)],
        )
        return cursor.fetchall()


def table_exists(name: str = TABLE) -> bool:
    """Whether the table is there, a partition or not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def attached(name: str = TABLE) -> bool:
    """Whether the table is a partition of the raw table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s) "
            "AND inhparent = 'usage_usagerecord'::regclass)",
            [name],
        )
        return cursor.fetchone()[0]


def stored_files(storage) -> list[str]:
    """The files in the archive storage's folder."""
    if not storage.exists("raw-usage"):
        return []
    return storage.listdir("raw-usage")[1]
