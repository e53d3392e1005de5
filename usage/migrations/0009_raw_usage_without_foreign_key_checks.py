"""Raw usage and its keys without foreign key constraints (issue 23): checking them cost two
lookups a record, two thirds of a COPY of records. The ingest stores records only for the
customers and services it has read; Django still cascades a customer's deletion."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_autopay_records'),
        ('usage', '0008_raw_usage_partitioned_by_month'),
    ]

    operations = [
        migrations.AlterField(
            model_name='recordkey',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='accounts.customer'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='accounts.customer'),
        ),
        migrations.AlterField(
            model_name='usagerecord',
            name='service',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='usage.service'),
        ),
    ]
