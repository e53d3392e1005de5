"""The one seam between workflows and Celery, for every app, and the claim that makes a job
run once.

Services name the background job to run once their transaction commits; they never import
their app's tasks module (tasks import services, so the arrow points one way). A job is looked
up by name in the Celery app at that moment (each app's AppConfig.ready registers its tasks).
If the broker is down the job is logged and skipped: periodic sweeps find the work it would
have done (a stale PDF, an unsent email) and do it later. What is owed is kept in the
database: a row whose claim field is still empty (an invoice's `emailed_at`, …), which a run
claims (`claim_then_run`) before it does the work.
"""

import datetime
import logging
from collections.abc import Callable
from contextvars import ContextVar

from celery import current_app
from django.db import close_old_connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

# Work younger than this is still in the hands of the task enqueued when it committed.
SWEEP_GRACE = datetime.timedelta(minutes=10)


def after_commit(job: str, *args) -> None:
    """Run `job(*args)` once the current transaction commits (at once outside one)."""
    # robust: a job that fails while running in-process (no REDIS_URL) is logged, and does not
    # turn the request whose transaction already committed into an error.
    transaction.on_commit(lambda: _send(job, args), robust=True)


def after_response(job: str, *args) -> None:
    """As `after_commit`, and without a broker (the job then runs in this process) not before
    the response has gone out: for a job whose time the answer must not show."""
    transaction.on_commit(lambda: _send_after_response(job, args), robust=True)


# The jobs held back until the current request's response has been sent; None outside one.
_held_for_response: ContextVar[list | None] = ContextVar("held_for_response", default=None)


def _send_after_response(job: str, args: tuple) -> None:
    held = _held_for_response.get()
    if held is None or not current_app.conf.task_always_eager:
        _send(job, args)
    else:
        held.append((job, args))


def hold_jobs_for_response(**kwargs) -> None:
    """Connected to request_started."""
    _held_for_response.set([])


def send_held_jobs(**kwargs) -> None:
    """Connected to request_finished, which the server sends once the response is out."""
    held = _held_for_response.get() or []
    _held_for_response.set(None)
    for job, args in held:
        try:
            _send(job, args)
        except Exception:
            log.exception("%s%r failed after the response; left for the sweep.", job, args)
    if held:
        close_old_connections()  # the jobs' own: Django closed the request's before them


def _send(job: str, args: tuple) -> None:
    try:
        # Nobody waits for a job's result. Asking for none also keeps the Redis result backend
        # out of the way: it would first subscribe to the result, and with the broker down
        # retry that for 20 seconds, then raise RuntimeError instead of OperationalError.
        current_app.tasks[job].apply_async(args, ignore_result=True)
    except OperationalError as exc:
        log.warning("Broker unavailable, %s%r left for the sweep: %s", job, args, exc)


def queue_each(task, ids) -> int:
    """A sweep's work: queue `task(id)` for each id, and say how many. Without a broker each
    runs here and now; one that fails is logged (a failed email is recorded too) and the sweep
    goes on with the rest."""
    ids = list(ids)
    for object_id in ids:
        try:
            task.delay(object_id)
        except Exception:
            log.exception("%s(%r) failed; the next sweep tries again.", task.name, object_id)
    return len(ids)


def claim_then_run(claim: QuerySet, field: str, run: Callable[[], None]) -> bool:
    """Set `field` to now on the rows of `claim`, then `run()`, in one transaction. False if
    another run claimed them first; an error in `run()` undoes the claim (so that the sweep
    tries again) and goes on to the caller."""
    with transaction.atomic():
        if not claim.update(**{field: timezone.now()}):
            return False
        run()
    return True
