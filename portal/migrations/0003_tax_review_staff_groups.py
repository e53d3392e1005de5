"""Billing staff review customers' changes of country or VAT id (accounts.TaxChange); Support
reads them."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

BILLING_STAFF_MAY = {"accounts": {"review_taxchange"}}


def add_tax_review_to_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_usage_staff_groups"),
        ("accounts", "0005_tax_change_review"),
    ]

    operations = [migrations.RunPython(add_tax_review_to_staff_groups, migrations.RunPython.noop)]
