"""The staff groups "Support" (reads everything, changes nothing) and "Billing staff" (reads
everything, runs the billing workflows): see portal/staff_groups.py."""

from django.db import migrations

from portal.staff_groups import grant_staff_permissions

# What Billing staff may do beyond reading, app by app, as the models stand at this migration.
BILLING_STAFF_MAY = {
    # A customer's payment terms, currency and details.
    "accounts": {"change_customer"},
    "billing": {
        # Drafts and their lines (issued invoices are never changed; only drafts are deleted).
        "add_invoice",
        "change_invoice",
        "delete_invoice",
        "add_invoiceline",
        "change_invoiceline",
        "delete_invoiceline",
        # The workflows (Invoice.Meta.permissions, CreditEntry.Meta.permissions).
        "finalize_invoice",
        "void_invoice",
        "credit_invoice",
        "record_payment",
        "send_invoice",
        "refund_credit",
    },
}


def create_staff_groups(apps, schema_editor):
    grant_staff_permissions(apps, BILLING_STAFF_MAY)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0003_password_reset_request"),
        ("billing", "0006_invoice_deliver"),
    ]

    operations = [migrations.RunPython(create_staff_groups, migrations.RunPython.noop)]
