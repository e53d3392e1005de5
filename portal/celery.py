"""The Celery app. Workers: `celery -A portal worker`; the schedule: `celery -A portal beat`."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Every 5 minutes: roll new usage records into the daily rollup the Usage page reads. A
    # run that finds the next one still queued (a worker was down) lets it expire: one is enough.
    "aggregate-usage": {
        "task": "usage.tasks.aggregate_usage",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 5 * 60},
    },
    # Daily at 03:00 UTC: the raw usage partitions of this month and the next three
    # (PostgreSQL), and one for each month whose records wait in the default partition.
    "ensure-usage-partitions": {
        "task": "usage.tasks.ensure_usage_partitions",
        "schedule": crontab(minute=0, hour=3),
    },
    # Hourly: an invoice turns overdue once its due date has passed in its customer's own time
    # zone, and every overdue invoice without a reminder yet gets one.
    "flag-overdue-invoices": {
        "task": "billing.tasks.flag_overdue_invoices",
        "schedule": crontab(minute=0),
    },
    # Hourly, at a quarter past (the month's last records have had time to arrive): count new
    # usage, then issue last month's invoice to each customer whose 1st of the month has begun
    # in their time zone and whose month is over in UTC, the days usage is counted in.
    "issue-monthly-invoices": {
        "task": "billing.tasks.issue_monthly_invoices",
        "schedule": crontab(minute=15),
    },
    # Every 15 minutes: render any PDF whose task was lost: older than its invoice, or missing.
    "render-stale-pdfs": {
        "task": "billing.tasks.render_stale_pdfs",
        "schedule": crontab(minute="*/15"),
    },
    # Every 10 minutes: send invoice emails and receipts whose task never ran (broker down)
    # or whose send failed, until sent or failed too often (then left to staff in the admin).
    "send-unsent-emails": {
        "task": "billing.tasks.send_unsent_emails",
        "schedule": crontab(minute="*/10"),
    },
    # Every 10 minutes, the same for address confirmations, invitations and reset links.
    "send-unsent-account-emails": {
        "task": "accounts.tasks.send_unsent_emails",
        "schedule": crontab(minute="*/10"),
    },
    # Every 10 minutes: book refunds that Stripe reported before the payment they refund.
    "retry-deferred-refunds": {
        "task": "billing.tasks.retry_deferred_refunds",
        "schedule": crontab(minute="*/10"),
    },
    # Hourly, at half past: the automatic payments whose retry day has come (dunning), each
    # claimed before Stripe is asked, so that a second run or a late worker charges nothing twice.
    "retry-automatic-payments": {
        "task": "billing.tasks.retry_automatic_payments",
        "schedule": crontab(minute=30),
    },
    # Daily at 06:00 UTC: one email about each saved card that expires within a month.
    "warn-expiring-cards": {
        "task": "billing.tasks.warn_expiring_cards",
        "schedule": crontab(minute=0, hour=6),
    },
}
