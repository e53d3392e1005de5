"""The signed links we mail: confirming a contact's address (valid 72 hours) and accepting an
invitation to the team (valid 7 days). The signature carries the time it was made."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from accounts.models import CONFIRMATION_VALIDITY, INVITATION_VALIDITY, Contact, Invitation, User

_CONFIRMATION_SALT = "accounts.contact-confirmation"
_INVITATION_SALT = "accounts.invitation"


class Refusal(models.TextChoices):
    """Why a link cannot be used; each has its own explanation on the refusal page."""

    INVALID = "invalid", _("This link is not valid")
    EXPIRED = "expired", _("This link has expired")
    USED = "used", _("This link has already been used")
    OUTDATED = "outdated", _("This link is no longer valid")


class LinkRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.label)
        self.refusal = refusal


def absolute(path: str) -> str:
    """Links in emails point at the portal's public address (SITE_URL): a task has no request."""
    return settings.SITE_URL.rstrip("/") + path


def _unsign(token: str, *, salt: str, max_age) -> dict:
    try:
        return signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkRefused(Refusal.EXPIRED) from None
    except signing.BadSignature:
        raise LinkRefused(Refusal.INVALID) from None


def confirmation_url(contact: Contact) -> str:
    # The address is signed too: once it changes, links sent to the old one stop working.
    token = signing.TimestampSigner(salt=_CONFIRMATION_SALT).sign_object(
        {"contact": contact.pk, "email": contact.email}
    )
    return absolute(reverse("contact_confirm", args=[token]))


def read_confirmation(token: str) -> tuple[int, str]:
    """(contact id, address) from a confirmation link, or LinkRefused (expired, tampered)."""
    data = _unsign(token, salt=_CONFIRMATION_SALT, max_age=CONFIRMATION_VALIDITY)
    return data["contact"], data["email"]


def invitation_url(invitation: Invitation) -> str:
    token = signing.TimestampSigner(salt=_INVITATION_SALT).sign_object(
        {"invitation": invitation.pk}
    )
    return absolute(reverse("invitation_accept", args=[token]))


def read_invitation(token: str) -> int:
    """The invitation id from an invitation link, or LinkRefused (expired, tampered)."""
    return _unsign(token, salt=_INVITATION_SALT, max_age=INVITATION_VALIDITY)["invitation"]


def password_reset_url(user: User) -> str:
    """Django's one-use reset link (valid PASSWORD_RESET_TIMEOUT), read by its own views."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
