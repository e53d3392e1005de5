"""Raw usage partitioned by month on PostgreSQL; each (customer, sender's id) once in RecordKey.

On both databases: RecordKey is made and filled from the stored records (with each record's
content digest), the held records lose their foreign key to the raw table, and the raw table
its unique (customer, external_id) key. On PostgreSQL the raw table is then rebuilt as
partitioned by range of `start`: a partition for every month with records, the month before
this one, this one and the three after it, and the default partition; the records move across
with their ids, and the ids go on from where the old table's left off.
"""

import datetime
import hashlib

import django.db.models.deletion
from django.db import migrations, models

# The record's content digest in SQL (usage.ingest.digest computes the same in Python).
DIGEST_FUNCTION = """
CREATE OR REPLACE FUNCTION usage_record_digest(
    service_id bigint, metric text, quantity numeric, start timestamptz, "end" timestamptz,
    resource text
) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || left(encode(sha256(convert_to(concat_ws('|',
        service_id, metric, round(quantity, 6),
        (extract(epoch FROM start) * 1000000)::bigint,
        (extract(epoch FROM "end") * 1000000)::bigint,
        resource), 'UTF8')), 'hex'), 16))::bit(64)::bigint
$$
"""

FILL_KEYS = """
INSERT INTO usage_recordkey (customer_id, external_id, digest)
SELECT customer_id, external_id,
       usage_record_digest(service_id, metric, quantity, start, "end", resource)
FROM usage_usagerecord
"""

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def _digest(service_id, metric, quantity, start, end, resource):
    """usage.ingest.digest as it stood at this migration."""
    text = "|".join(
        (
            str(service_id),
            metric,
            f"{quantity:.6f}",
            str((start - EPOCH) // MICROSECOND),
            str((end - EPOCH) // MICROSECOND),
            resource,
        )
    )
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def fill_keys(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(DIGEST_FUNCTION)
            cursor.execute(FILL_KEYS)
        return
    UsageRecord = apps.get_model("usage", "UsageRecord")
    RecordKey = apps.get_model("usage", "RecordKey")
    fields = ("customer_id", "external_id", "service_id", "metric", "quantity", "start", "end")
    records = UsageRecord.objects.order_by("pk").values_list(*fields, "resource")
    keys = [
        RecordKey(customer_id=customer, external_id=external_id, digest=_digest(*content))
        for customer, external_id, *content in records.iterator(chunk_size=10_000)
    ]
    RecordKey.objects.bulk_create(keys, batch_size=1_000)


def drop_digest_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP FUNCTION IF EXISTS usage_record_digest")


def _foreign_keys(cursor):
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'usage_usagerecord'::regclass AND contype = 'f'"
    )
    return cursor.fetchall()


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        foreign_keys = _foreign_keys(cursor)
        cursor.execute("SELECT pg_get_serial_sequence('usage_usagerecord', 'id')")
        (old_sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {old_sequence}")
        last_value, is_called = cursor.fetchone()
        cursor.execute(
            "SELECT DISTINCT (date_trunc('month', start AT TIME ZONE 'UTC'))::date "
            "FROM usage_usagerecord"
        )
        months = {row[0] for row in cursor.fetchall()}
        this_month = datetime.datetime.now(datetime.UTC).date().replace(day=1)
        month = (this_month - datetime.timedelta(days=1)).replace(day=1)
        for _ in range(5):
            months.add(month)
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        cursor.execute(
            "CREATE SEQUENCE usage_usagerecord_ids; "
            "CREATE TABLE usage_usagerecord_partitioned "
            "(LIKE usage_usagerecord INCLUDING CONSTRAINTS) PARTITION BY RANGE (start); "
            "ALTER TABLE usage_usagerecord_partitioned "
            "ALTER COLUMN id SET DEFAULT nextval('usage_usagerecord_ids'); "
            "ALTER SEQUENCE usage_usagerecord_ids OWNED BY usage_usagerecord_partitioned.id; "
            "CREATE INDEX usage_usagerecord_by_id ON usage_usagerecord_partitioned (id); "
            "CREATE TABLE usage_usagerecord_default "
            "PARTITION OF usage_usagerecord_partitioned DEFAULT"
        )
        for month in sorted(months):
            end = (month + datetime.timedelta(days=32)).replace(day=1)
            cursor.execute(
                f"CREATE TABLE usage_usagerecord_p{month:%Y_%m} "
                "PARTITION OF usage_usagerecord_partitioned "
                f"FOR VALUES FROM ('{month} 00:00+00') TO ('{end} 00:00+00')"
            )
        cursor.execute(
            "INSERT INTO usage_usagerecord_partitioned SELECT * FROM usage_usagerecord; "
            "DROP TABLE usage_usagerecord; "
            "ALTER TABLE usage_usagerecord_partitioned RENAME TO usage_usagerecord; "
            "ALTER SEQUENCE usage_usagerecord_ids RENAME TO usage_usagerecord_id_seq"
        )
        cursor.execute(
            "SELECT setval('usage_usagerecord_id_seq', %s, %s)", [last_value, is_called]
        )
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE usage_usagerecord ADD CONSTRAINT {name} {definition}")


def unpartition(apps, schema_editor):
    """Back to one table with its primary key, the ids going on where they were."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        foreign_keys = _foreign_keys(cursor)
        cursor.execute("SELECT last_value, is_called FROM usage_usagerecord_id_seq")
        last_value, is_called = cursor.fetchone()
        cursor.execute(
            "CREATE TABLE usage_usagerecord_plain (LIKE usage_usagerecord INCLUDING CONSTRAINTS); "
            "ALTER TABLE usage_usagerecord_plain "
            "ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY, ADD PRIMARY KEY (id); "
            "INSERT INTO usage_usagerecord_plain SELECT * FROM usage_usagerecord; "
            "DROP TABLE usage_usagerecord; "
            "ALTER TABLE usage_usagerecord_plain RENAME TO usage_usagerecord; "
            "ALTER INDEX usage_usagerecord_plain_pkey RENAME TO usage_usagerecord_pkey; "
            "ALTER SEQUENCE usage_usagerecord_plain_id_seq RENAME TO usage_usagerecord_id_seq"
        )
        cursor.execute(
            "SELECT setval('usage_usagerecord_id_seq', %s, %s)", [last_value, is_called]
        )
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE usage_usagerecord ADD CONSTRAINT {name} {definition}")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_autopay_records'),
        ('usage', '0007_plan_currency_choices_from_settings'),
    ]

    operations = [
        migrations.CreateModel(
            name='RecordKey',
            fields=[
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to='accounts.customer')),
                ('external_id', models.CharField(max_length=200, verbose_name="sender's id")),
                ('digest', models.BigIntegerField()),
                ('pk', models.CompositePrimaryKey('customer', 'external_id', blank=True, editable=False, primary_key=True, serialize=False)),
            ],
        ),
        migrations.AlterField(
            model_name='heldrecord',
            name='record',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='held', serialize=False, to='usage.usagerecord'),
        ),
        migrations.RunPython(fill_keys, drop_digest_function, elidable=False),
        migrations.RemoveConstraint(
            model_name='usagerecord',
            name='usage_record_id_per_customer',
        ),
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
