"""The rollup, held records and closed months keyed by customer first on PostgreSQL (issue 23,
item 6): Citus distributes a table by customer_id only if every primary and unique key holds
it. Django still treats `id` (`record_id`) as the primary key, which stays unique (a sequence's
numbers; a record belongs to one customer); a plain index on it keeps lookups by it. Django can
neither register a model with a composite primary key in the admin nor point a foreign key at
one, so the models keep their single-column keys. SQLite (the demo) keeps them as they are."""

from django.db import migrations

# (table, its primary key's columns before and after, the index that answers lookups by the
# old key: the admin's pages, a customer's deletion)
KEYS = [
    ("usage_dailyusage", "id", "customer_id, id", "daily_usage_by_id"),
    ("usage_heldrecord", "record_id", "customer_id, record_id", "held_usage_by_record"),
    ("usage_closedmonth", "id", "customer_id, id", "closed_month_by_id"),
]


def rekey(schema_editor, *, before: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, old, new, index in KEYS:
        columns = old if before else new
        schema_editor.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
            f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns})"
        )
        if before:
            schema_editor.execute(f"DROP INDEX {index}")
        else:
            schema_editor.execute(f"CREATE INDEX {index} ON {table} ({old})")


def forward(apps, schema_editor):
    rekey(schema_editor, before=False)


def backward(apps, schema_editor):
    rekey(schema_editor, before=True)


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0010_archived_months"),
    ]

    operations = [migrations.RunPython(forward, backward)]
