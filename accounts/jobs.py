"""The one seam between workflows and Celery, for every app (it sits in the bottom app so that
all may use it), and how every email that matters is sent once and never lost.

Services name the background job to run once their transaction commits; they never import
their app's tasks module (tasks import services, so the arrow points one way). A job is looked
up by name in the Celery app at that moment (each app's AppConfig.ready registers its tasks).
If the broker is down the job is logged and skipped: periodic sweeps find the work it would
have done (a stale PDF, an unsent email) and do it later.

An email is owed while the row that wants it has its claim field empty (an invoice's
`emailed_at`, an invitation's `sent_at`, …): that, in the database, is what the sweeps look
for, whichever broker there is or none. A failed send leaves the field empty and is recorded
(UndeliveredMail); each sweep tries it again, until it goes out or has failed MAIL_ATTEMPTS
times, when staff see it as failed in the admin.
"""

import datetime
import logging
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from celery import current_app
from django.db import close_old_connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import UndeliveredMail

log = logging.getLogger(__name__)

SEND_CONTACT_CONFIRMATION = "accounts.tasks.send_contact_confirmation"
SEND_INVITATION = "accounts.tasks.send_invitation"
SEND_PASSWORD_RESET = "accounts.tasks.send_password_reset"

# Work younger than this is still in the hands of the task enqueued when it committed.
SWEEP_GRACE = datetime.timedelta(minutes=10)
# Failed sends of one email before it is left to staff: the sweeps run every 10 minutes (the
# hourly reminders' every hour), so a mail server that is down for up to two hours loses nothing.
MAIL_ATTEMPTS = 12


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


@dataclass(frozen=True)
class Mail:
    """Which email a send is: the row that wants it, and what staff read if it fails."""

    kind: UndeliveredMail.Kind
    object_id: int
    subject: str
    recipients: Sequence[str] = ()
    customer_id: int | None = None


def send_once(
    claim: QuerySet, field: str, send: Callable[[], None], mail: Mail, *, by_hand: bool = False
) -> bool:
    """Set `field` to now on the rows of `claim`, then `send()`, in one transaction. False if
    another run claimed them first. A failed send undoes the claim, so that the sweep tries
    again, and is recorded for staff, unless sent `by_hand` (staff read the error at once);
    the error goes on to the caller. Once sent, any failure recorded before is gone."""
    try:
        with transaction.atomic():
            if not claim.update(**{field: timezone.now()}):
                return False
            send()
    except Exception as exc:
        if not by_hand:
            _record_failure(mail, exc)
        raise
    UndeliveredMail.objects.filter(kind=mail.kind, object_id=mail.object_id).delete()
    return True


@transaction.atomic
def _record_failure(mail: Mail, exc: Exception) -> None:
    now = timezone.now()
    failure, _ = UndeliveredMail.objects.select_for_update().get_or_create(
        kind=mail.kind, object_id=mail.object_id
    )
    failure.customer_id = mail.customer_id
    failure.subject = mail.subject[:254]
    failure.recipients = ", ".join(mail.recipients)
    failure.failures += 1
    failure.last_error = f"{type(exc).__name__}: {exc}"
    failure.last_failed_at = now
    if failure.failures >= MAIL_ATTEMPTS and failure.gave_up_at is None:
        failure.gave_up_at = now
        log.error("%s failed %d times; left to staff: %s", failure, failure.failures, exc)
    failure.save()


def still_trying(owed: QuerySet, kind: UndeliveredMail.Kind) -> QuerySet:
    """`owed`, less the rows whose email of `kind` has failed too often (staff retry those)."""
    given_up = UndeliveredMail.objects.filter(kind=kind).exclude(gave_up_at=None)
    return owed.exclude(pk__in=given_up.values("object_id"))
