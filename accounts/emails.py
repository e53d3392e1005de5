"""The emails the Account pane sends: an address's confirmation link, a team invitation. Like
every email to a customer's people, each is written in the customer's language of invoices,
which billing keeps (billing.BillingProfile) and names here when it starts (billing/apps.py).
And a login's password reset link, written in the language its user reads the portal in."""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import links
from accounts.models import Contact, Customer, Invitation, User


def _default_language(customer: Customer) -> str:
    return settings.LANGUAGE_CODE


_language_of: Callable[[Customer], str] = _default_language


def write_to_customers_in(language_of: Callable[[Customer], str]) -> None:
    """Write the customer's mail in `language_of(customer)` from now on."""
    global _language_of
    _language_of = language_of


def _message(*, template: str, subject, to: str, context: dict) -> EmailMessage:
    """`subject`: a translatable text naming the customer as %(customer)s."""
    customer = context["customer"]
    with translation.override(_language_of(customer)):
        return EmailMessage(
            subject=subject % {"customer": customer.name},
            body=render_to_string(
                f"accounts/email/{template}.txt", {"seller": settings.SELLER, **context}
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            reply_to=[settings.SELLER["email"]],
        )


def contact_confirmation(contact: Contact) -> EmailMessage:
    return _message(
        template="contact_confirmation",
        subject=_("Confirm your email address for %(customer)s's invoices"),
        to=contact.email,
        context={
            "contact": contact,
            "customer": contact.customer,
            "url": links.confirmation_url(contact),
        },
    )


def invitation(invitation: Invitation) -> EmailMessage:
    return _message(
        template="invitation",
        subject=_("You are invited to %(customer)s's billing account"),
        to=invitation.email,
        context={
            "invitation": invitation,
            "customer": invitation.customer,
            "url": links.invitation_url(invitation),
        },
    )


def password_reset(user: User) -> EmailMessage:
    with translation.override(user.language):
        subject = render_to_string("registration/password_reset_subject.txt")
        return EmailMessage(
            subject="".join(subject.splitlines()),  # a header: one line
            body=render_to_string(
                "registration/password_reset_email.html",
                {"email": user.email, "url": links.password_reset_url(user)},
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
