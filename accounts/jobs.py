"""The background jobs of accounts' workflows, by name (enqueued through core/jobs.py), and how
every email that matters, in every app, is sent once and never lost.

An email is owed while the row that wants it has its claim field empty (an invoice's
`emailed_at`, an invitation's `sent_at`, …): that, in the database, is what the sweeps look
for, whichever broker there is or none. A failed send leaves the field empty and is recorded
(UndeliveredMail); each sweep tries it again, until it goes out or has failed MAIL_ATTEMPTS
times, when staff see it as failed in the admin.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import UndeliveredMail
from core.jobs import SWEEP_GRACE, after_commit, after_response, claim_then_run, queue_each

__all__ = ["SWEEP_GRACE", "after_commit", "after_response", "queue_each"]

log = logging.getLogger(__name__)

SEND_CONTACT_CONFIRMATION = "accounts.tasks.send_contact_confirmation"
SEND_INVITATION = "accounts.tasks.send_invitation"
SEND_PASSWORD_RESET = "accounts.tasks.send_password_reset"

# Failed sends of one email before it is left to staff: the sweeps run every 10 minutes (the
# hourly reminders' every hour), so a mail server that is down for up to two hours loses nothing.
MAIL_ATTEMPTS = 12


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
    """Send once (`core.jobs.claim_then_run`). A failed send undoes the claim, so that the sweep
    tries again, and is recorded for staff, unless sent `by_hand` (staff read the error at
    once); the error goes on to the caller. Once sent, any failure recorded before is gone."""
    try:
        if not claim_then_run(claim, field, send):
            return False
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
