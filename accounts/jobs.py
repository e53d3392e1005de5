"""The one seam between workflows and Celery, for every app (it sits in the bottom app so that
all may use it).

Services name the background job to run once their transaction commits; they never import
their app's tasks module (tasks import services, so the arrow points one way). A job is looked
up by name in the Celery app at that moment (each app's AppConfig.ready registers its tasks).
If the broker is down the job is logged and skipped: periodic sweeps find the work it would
have done (a stale PDF, an unsent email) and do it later.
"""

import logging
from collections.abc import Callable

from celery import current_app
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

SEND_CONTACT_CONFIRMATION = "accounts.tasks.send_contact_confirmation"
SEND_INVITATION = "accounts.tasks.send_invitation"
SEND_PASSWORD_RESET = "accounts.tasks.send_password_reset"


def after_commit(job: str, *args) -> None:
    """Run `job(*args)` once the current transaction commits (at once outside one)."""
    # robust: a job that fails while running in-process (no REDIS_URL) is logged, and does not
    # turn the request whose transaction already committed into an error.
    transaction.on_commit(lambda: _send(job, args), robust=True)


def _send(job: str, args: tuple) -> None:
    try:
        # Nobody waits for a job's result. Asking for none also keeps the Redis result backend
        # out of the way: it would first subscribe to the result, and with the broker down
        # retry that for 20 seconds, then raise RuntimeError instead of OperationalError.
        current_app.tasks[job].apply_async(args, ignore_result=True)
    except OperationalError as exc:
        log.warning("Broker unavailable, %s%r left for the sweep: %s", job, args, exc)


def send_once(claim: QuerySet, field: str, send: Callable[[], None]) -> bool:
    """Set `field` to now on the rows of `claim`, then `send()`, in one transaction. False if
    another run claimed them first; a failed send undoes the claim, for a retry."""
    with transaction.atomic():
        if not claim.update(**{field: timezone.now()}):
            return False
        send()
    return True
