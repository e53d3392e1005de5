"""`manage.py aggregate_usage`: roll new usage records into the daily rollup now (the beat
schedule does it every 5 minutes)."""

from django.core.management.base import BaseCommand

from usage.aggregation import aggregate_usage


class Command(BaseCommand):
    help = "Roll the usage records not yet counted into the daily rollup (DailyUsage)."

    def handle(self, *args, **options):
        counted = aggregate_usage()
        noun = "record" if counted == 1 else "records"
        self.stdout.write(f"Counted {counted:,} new usage {noun} into the daily rollup.")
