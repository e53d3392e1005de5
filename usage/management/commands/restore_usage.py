"""`manage.py restore_usage 2025-11`: bring an archived month's raw usage records back into
the database, with their ids (usage/archive.py)."""

from django.core.management.base import BaseCommand, CommandError

from usage import archive
from usage.management.months import month_argument


class Command(BaseCommand):
    help = (
        "Load an archived month's raw usage records back into its partition, after checking "
        "the file's SHA-256 (a file that does not match is refused and nothing is changed). "
        "The rollup is not counted again. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="The archived month, e.g. 2025-11.")

    def handle(self, *args, month: str, **options):
        first = month_argument(month, "month")
        try:
            restored = archive.restore_month(first)
        except (archive.NotPartitioned, archive.ArchiveRefused) as exc:
            raise CommandError(f"Not restored: {exc}.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{first:%Y-%m}: restored {restored.records:,} records from {restored.file}."
            )
        )
