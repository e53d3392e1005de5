"""Automatic payments and saved payment methods join the staff groups: both read them (the
admin's "needs attention" list of charge attempts); nobody changes them by hand."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"billing": set()}


def add_autopay_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_senders_staff_groups"),
        ("billing", "0018_autopay"),
    ]

    operations = [migrations.RunPython(add_autopay_to_staff_groups, migrations.RunPython.noop)]
