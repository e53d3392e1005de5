"""Months whose raw usage records are archived: out of the database, in a file (usage/archive)."""

from django.db import models
from django.utils import timezone


class ArchivedMonth(models.Model):
    """A UTC month whose raw records were written to the archive storage and dropped from the
    database. The rollup, invoices and CSVs of the month are unchanged: they never read raw
    records. `restore_usage` loads the file back and deletes the row."""

    month = models.DateField(unique=True, help_text="The 1st of the month (UTC).")
    file = models.CharField(max_length=255, help_text="Its name in the archive storage.")
    records = models.BigIntegerField()
    size = models.BigIntegerField(help_text="Bytes, compressed.")
    sha256 = models.CharField("SHA-256", max_length=64, help_text="Of the stored file.")
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m} archived ({self.records} records)"
