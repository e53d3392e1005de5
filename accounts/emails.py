"""The emails the Account pane sends: an address's confirmation link, a team invitation.
Like every email to a customer's people, each is written in the customer's language of
invoices (`Customer.invoice_language`)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

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
    customer = contact.customer
    with translation.override(customer.invoice_language):
        return _message(
            template="contact_confirmation",
            subject=gettext("Confirm your email address for %(customer)s's invoices")
            % {"customer": customer.name},
            to=contact.email,
            context={
                "contact": contact,
                "customer": customer,
                "seller": settings.SELLER,
                "url": links.confirmation_url(contact),
            },
        )


def invitation(invitation: Invitation) -> EmailMessage:
    customer = invitation.customer
    with translation.override(customer.invoice_language):
        return _message(
            template="invitation",
            subject=gettext("You are invited to %(customer)s's billing account")
            % {"customer": customer.name},
            to=invitation.email,
            context={
                "invitation": invitation,
                "customer": customer,
                "seller": settings.SELLER,
                "url": links.invitation_url(invitation),
            },
        )
