"""Metering joins the staff groups: both read plans, prices and usage; Billing staff also set
prices and move customers between plans (from an open month on, see usage/models.py)."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {
    "usage": {
        "add_pricingplan",
        "change_pricingplan",
        "add_price",
        "add_customerplan",
    },
}


def add_usage_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_staff_groups"),
        ("usage", "0001_metering"),
    ]

    operations = [migrations.RunPython(add_usage_to_staff_groups, migrations.RunPython.noop)]
