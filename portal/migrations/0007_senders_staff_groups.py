"""Senders of usage and late usage join the staff groups: both read them; Billing staff also
make and revoke senders' tokens."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"usage": {"add_ingesttoken", "change_ingesttoken"}}


def add_senders_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_billing_profile_staff_groups"),
        ("usage", "0005_senders_and_late_usage"),
    ]

    operations = [migrations.RunPython(add_senders_to_staff_groups, migrations.RunPython.noop)]
