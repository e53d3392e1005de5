"""Both staff groups read the default plan's history and the usage records held back by the
aggregation (usage), and the months the monthly run could not invoice (billing); none of them
is changed by hand."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions


def read_the_new_tables(apps, schema_editor):
    grant_staff_permissions(apps, {"usage": set(), "billing": set()})


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_tax_review_staff_groups"),
        ("usage", "0004_held_records_and_month_bound"),
        ("billing", "0011_uninvoiced_months_and_amounts_sized_for_the_largest_month"),
    ]

    operations = [migrations.RunPython(read_the_new_tables, migrations.RunPython.noop)]
