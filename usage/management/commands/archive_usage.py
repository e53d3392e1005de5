"""`manage.py archive_usage --before 2026-01`: move the raw usage records of invoiced months
before January 2026 out of the database, into the archive storage (usage/archive.py)."""

from django.core.management.base import BaseCommand, CommandError

from usage import archive
from usage.management.months import month_argument


class Command(BaseCommand):
    help = (
        "Archive the raw usage records of every month before --before that has a partition: "
        "write each to the archive storage (gzip CSV, with its SHA-256), then drop it from the "
        "database. Each month is decided alone: a month refused (not over, still taken by the "
        "ingest API, not invoiced for every customer with records in it, records not counted "
        "or held back, late usage waiting for an invoice, already archived, the raw table "
        "busy) is named with why and keeps its records; the others are archived, and the "
        "command then exits with an error. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="The first month kept, e.g. 2026-01.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be archived; change nothing."
        )

    def handle(self, *args, before: str, dry_run: bool, **options):
        first_kept = month_argument(before, "--before")
        try:
            months = archive.candidates(first_kept)
        except archive.NotPartitioned as exc:
            raise CommandError(f"{exc}.") from None
        for archived in archive.archived_before(first_kept).exclude(month__in=months):
            self.stdout.write(f"{archived.month:%Y-%m}: archived before, to {archived.file}.")
        refused = 0
        for month in months:
            try:
                if dry_run:
                    if reason := archive.refusal(month):
                        raise archive.ArchiveRefused(month, reason)
                    self.stdout.write(f"{month:%Y-%m}: would be archived.")
                    continue
                archived = archive.archive_month(month)
            except archive.ArchiveRefused as exc:
                refused += 1
                self.stdout.write(self.style.ERROR(f"Refused {exc}."))
                continue
            self.stdout.write(
                self.style.SUCCESS(
                    f"{month:%Y-%m}: archived {archived.records:,} records to {archived.file} "
                    f"({archived.size:,} bytes, SHA-256 {archived.sha256})."
                )
            )
        if not months:
            self.stdout.write(f"No month before {first_kept:%Y-%m} has raw records to archive.")
        if refused:
            raise CommandError(f"{refused} of {len(months)} months refused (see above).")
