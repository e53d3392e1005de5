"""The emails the Account pane sends: an address's confirmation link, a team invitation."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from accounts import links
from accounts.models import Contact, Invitation


def _message(*, template: str, subject: str, to: str, context: dict) -> EmailMessage:
    return EmailMessage(
        subject=subject,
        body=render_to_string(f"accounts/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SELLER["email"]],
    )


def contact_confirmation(contact: Contact) -> EmailMessage:
    return _message(
        template="contact_confirmation",
        subject=f"Confirm your email address for {contact.customer.name}'s invoices",
        to=contact.email,
        context={
            "contact": contact,
            "customer": contact.customer,
            "seller": settings.SELLER,
            "url": links.confirmation_url(contact),
        },
    )


def invitation(invitation: Invitation) -> EmailMessage:
    return _message(
        template="invitation",
        subject=f"You are invited to {invitation.customer.name}'s billing account",
        to=invitation.email,
        context={
            "invitation": invitation,
            "customer": invitation.customer,
            "seller": settings.SELLER,
            "url": links.invitation_url(invitation),
        },
    )
