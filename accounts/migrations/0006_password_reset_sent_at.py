from django.db import migrations, models


def mark_earlier_requests_sent(apps, schema_editor):
    # Until now the link was mailed inside the request itself: every stored request was sent.
    PasswordResetRequest = apps.get_model("accounts", "PasswordResetRequest")
    PasswordResetRequest.objects.update(sent_at=models.F("requested_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_tax_change_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="passwordresetrequest",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_earlier_requests_sent, migrations.RunPython.noop),
    ]
