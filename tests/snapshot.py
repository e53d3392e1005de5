"""A copy of every table, taken once and put back before each test that needs the same data.

The browser tests all start from the demo data, and `seed_demo` takes seconds (two years of
usage through the ingest service, every month invoiced); the live server's tests empty every
table after them. So the first such test seeds the demo and copies each table into a twin
(`snapshot__<table>`, which Django neither knows nor flushes), and the next ones empty the tables
and fill them from the twins: a fraction of a second on either database.
"""

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connection, transaction

PREFIX = "snapshot__"


class TableSnapshot:
    """Every table Django knows, copied once (`take`) and restored as often as asked."""

    def __init__(self):
        self.tables: list[str] = []

    @property
    def taken(self) -> bool:
        return bool(self.tables)

    def take(self) -> None:
        tables = connection.introspection.django_table_names(only_existing=True)
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                quoted, twin = _quoted(table), _quoted(PREFIX + table)
                cursor.execute(f"DROP TABLE IF EXISTS {twin}")
                cursor.execute(f"CREATE TABLE {twin} AS SELECT * FROM {quoted}")
        self.tables = tables

    def restore(self) -> None:
        """Empty every table and fill it from its twin; sequences move past the restored ids."""
        flush = connection.ops.sql_flush(no_style(), self.tables, allow_cascade=True)
        models = apps.get_models(include_auto_created=True)
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in flush:
                cursor.execute(statement)
            _skip_foreign_key_checks(cursor)
            # Foreign keys are deferred to the commit: the tables fill in any order.
            for table in self.tables:
                cursor.execute(
                    f"INSERT INTO {_quoted(table)} SELECT * FROM {_quoted(PREFIX + table)}"
                )
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
        # Content types were made again by the last flush, with other ids than these.
        ContentType.objects.clear_cache()


def _skip_foreign_key_checks(cursor) -> None:
    """The copy is of a consistent database: checking its 100,000 references again at the commit
    would take longer than the copy itself. PostgreSQL lets a superuser (as in CI) turn the
    checks off for the transaction; anyone else pays for them."""
    if connection.vendor != "postgresql":
        return
    cursor.execute("SELECT current_setting('is_superuser') = 'on'")
    if cursor.fetchone()[0]:
        cursor.execute("SET LOCAL session_replication_role = replica")


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)
