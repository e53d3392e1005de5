"""Both staff groups read the default plan's history (usage) and the months the monthly run
could not invoice (billing); neither is changed by hand."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions


def read_the_new_tables(apps, schema_editor):
    grant_staff_permissions(apps, {"usage": set(), "billing": set()})


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_usage_staff_groups"),
        ("usage", "0003_default_plan_history"),
        ("billing", "0009_uninvoiced_months"),
    ]

    operations = [migrations.RunPython(read_the_new_tables, migrations.RunPython.noop)]
