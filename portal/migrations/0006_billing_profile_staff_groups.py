"""Billing profiles join the staff groups: both read them (on the admin's Customer page);
Billing staff also change them, as they changed these settings on the customer before."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"billing": {"change_billingprofile"}}


def add_billing_profiles_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_undelivered_mail_staff_groups"),
        ("billing", "0015_billing_profile"),
    ]

    operations = [
        migrations.RunPython(add_billing_profiles_to_staff_groups, migrations.RunPython.noop)
    ]
