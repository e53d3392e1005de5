"""Archived months of raw usage join the staff groups: both read them; nobody changes them by
hand (archive_usage and restore_usage do)."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"usage": set()}


def add_archived_months_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_autopay_staff_groups"),
        ("usage", "0010_archived_months"),
    ]

    operations = [
        migrations.RunPython(add_archived_months_to_staff_groups, migrations.RunPython.noop)
    ]
