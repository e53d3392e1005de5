"""The one seam between workflows and Celery.

Services name the background job to run once their transaction commits; they never import
billing.tasks (tasks import services, so the arrow points one way). A job is looked up by name
in the Celery app at that moment. If the broker is down the job is logged and skipped: the
periodic sweeps in billing/tasks.py find the work it would have done (a stale PDF, an unsent
email) and do it later.
"""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

RENDER_PDF = "billing.tasks.render_invoice_pdf"
SEND_INVOICE_EMAIL = "billing.tasks.send_invoice_email"
SEND_OVERDUE_REMINDER = "billing.tasks.send_overdue_reminder"
SEND_PAYMENT_RECEIPT = "billing.tasks.send_payment_receipt"


def after_commit(job: str, *args) -> None:
    """Run `job(*args)` once the current transaction commits (at once outside one)."""
    # robust: a job that fails while running in-process (no REDIS_URL) is logged, and does not
    # turn the request whose transaction already committed into an error.
    transaction.on_commit(lambda: _send(job, args), robust=True)


def _send(job: str, args: tuple) -> None:
    try:
        current_app.tasks[job].apply_async(args)
    except OperationalError as exc:
        log.warning("Broker unavailable, %s%r left for the sweep: %s", job, args, exc)
