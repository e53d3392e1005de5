"""Sending the Account pane's emails and password reset links from a worker. Thin: each task
takes an id and calls a service that reads the row as it is by then, so a retry or a late run
sends what is still wanted, or nothing. They do not retry themselves: the sweep below tries a
failed send again (accounts/jobs.py)."""

from celery import shared_task
from django.utils import timezone

from accounts import jobs, password_reset, services
from accounts.models import (
    INVITATION_VALIDITY,
    Contact,
    Invitation,
    PasswordResetRequest,
    UndeliveredMail,
)


@shared_task
def send_contact_confirmation(contact_id: int) -> bool:
    return services.mail_contact_confirmation(contact_id=contact_id)


@shared_task
def send_invitation(invitation_id: int) -> bool:
    return services.mail_invitation(invitation_id=invitation_id)


@shared_task
def send_password_reset(request_id: int) -> bool:
    return password_reset.mail_password_reset(request_id=request_id)


@shared_task
def send_unsent_emails() -> int:
    """Queue every confirmation link, invitation and reset link not sent yet: its task never
    ran (the broker was down when its transaction committed, or the task was lost) or its send
    failed; not one that failed too often, nor an invitation past its validity. Sending is
    claimed, so a task that is merely late does not send twice."""
    now = timezone.now()
    before = now - jobs.SWEEP_GRACE
    confirmations = Contact.objects.confirmation_owed().filter(confirmation_sent_at__lt=before)
    invitations = Invitation.objects.filter(
        accepted_at=None,
        sent_at=None,
        created_at__lt=before,
        created_at__gt=now - INVITATION_VALIDITY,
    )
    resets = PasswordResetRequest.objects.filter(sent_at=None, requested_at__lt=before)
    return sum(
        jobs.queue_each(task, jobs.still_trying(owed, kind).values_list("pk", flat=True))
        for task, owed, kind in [
            (send_contact_confirmation, confirmations, UndeliveredMail.Kind.CONFIRMATION),
            (send_invitation, invitations, UndeliveredMail.Kind.INVITATION),
            (send_password_reset, resets, UndeliveredMail.Kind.PASSWORD_RESET),
        ]
    )
