"""The Celery app. Workers: `celery -A portal worker`; the schedule: `celery -A portal beat`."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # 06:00 UTC daily: flag invoices whose due date passed yesterday and send one reminder each,
    # early enough that customers read it at the start of their working day in Europe.
    "flag-overdue-invoices": {
        "task": "billing.tasks.flag_overdue_invoices",
        "schedule": crontab(hour=6, minute=0),
    },
}
