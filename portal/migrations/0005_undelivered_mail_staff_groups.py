"""Undelivered mail joins the staff groups: both read it; Billing staff also send failed mail
again (the admin's *Try again*)."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"accounts": {"change_undeliveredmail"}}


def add_undelivered_mail_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_invoicing_history_staff_groups"),
        ("accounts", "0007_mail_sent_and_undelivered_mail"),
    ]

    operations = [
        migrations.RunPython(add_undelivered_mail_to_staff_groups, migrations.RunPython.noop)
    ]
