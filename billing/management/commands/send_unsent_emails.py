"""`manage.py send_unsent_emails`: the mail sweeps, now (invoices and credit notes, receipts,
address confirmations, invitations, reset links; overdue reminders go with the overdue job).

With Redis, beat runs them every 10 minutes (portal/celery.py). Without it nothing is
scheduled: run this from cron every 10 minutes, so that an email whose send failed is tried
again. Safe to run any number of times: every email is claimed before it is sent.
"""

from django.core.management.base import BaseCommand

from accounts import tasks as account_tasks
from billing import tasks


class Command(BaseCommand):
    help = "Send every email that matters and is not sent yet (failed, or its job was lost)."

    def handle(self, *args, **options):
        queued = tasks.send_unsent_emails() + account_tasks.send_unsent_emails()
        self.stdout.write(f"{queued} email(s) sent or queued.")
