"""Sending the Account pane's emails from a worker. Thin: each task takes an id and calls a
service that reads the row as it is by then, so a retry or a late run sends what is still
wanted, or nothing."""

from smtplib import SMTPException

from celery import shared_task

from accounts import password_reset, services, team

RETRY = {"retry_backoff": 30, "retry_backoff_max": 1800, "retry_jitter": True, "max_retries": 6}


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_contact_confirmation(contact_id: int) -> bool:
    return services.mail_contact_confirmation(contact_id=contact_id)


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_invitation(invitation_id: int) -> bool:
    return team.mail_invitation(invitation_id=invitation_id)


@shared_task(autoretry_for=(SMTPException, ConnectionError), **RETRY)
def send_password_reset(request_id: int) -> bool:
    return password_reset.mail_password_reset(request_id=request_id)
