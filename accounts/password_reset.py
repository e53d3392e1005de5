"""Password reset links: asked for on the form, mailed by a worker.

The request only records what was asked and queues the mail once that commits (without a
broker: once the response has gone out), so it does the same work, and takes as long, for an
address with a login as for one without; whether there is a login to mail is found out by the
task.
"""

from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction

from accounts import emails, jobs
from accounts.models import PasswordResetRequest, UndeliveredMail
from accounts.throttle import password_reset_request


@transaction.atomic
def request_reset_link(*, email: str, ip_address: str | None) -> bool:
    """Record a request for a reset link and mail it after commit; False when throttled."""
    reset = password_reset_request(email=email, ip_address=ip_address)
    if reset is None:
        return False
    jobs.after_response(jobs.SEND_PASSWORD_RESET, reset.pk)
    return True


def mail_password_reset(*, request_id: int) -> bool:
    """Mail the link a request asked for, once (claimed through `sent_at`; task side). Only an
    active login with a usable password gets one, as Django's own form decides; for any other
    address the request is handled by sending nothing."""
    reset = PasswordResetRequest.objects.filter(pk=request_id).first()
    if reset is None:
        return False
    users = list(PasswordResetForm().get_users(reset.email))

    def send():
        for user in users:
            emails.password_reset(user).send()

    claim = PasswordResetRequest.objects.filter(pk=request_id, sent_at=None)
    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.PASSWORD_RESET,
        object_id=reset.pk,
        subject=f"Reset link for {reset.email}",
        recipients=[user.email for user in users],
    )
    return jobs.send_once(claim, "sent_at", send, mail)
