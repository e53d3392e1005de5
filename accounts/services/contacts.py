"""The customer's email addresses (and the confirmation link each new one is mailed) and
its phone numbers. Each change locks the customer's row and is audited; once the
customer has a confirmed Billing address, it keeps one."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import audit, emails, jobs, links
from accounts.models import AuditEntry, Contact, Phone, UndeliveredMail, User
from accounts.services.customers import lock_customer

LAST_BILLING_CONTACT = gettext_lazy(
    "Invoices need somewhere to go: keep at least one confirmed address with the Billing role. "
    "Give the role to another address and confirm it first."
)
ONLY_ADDRESS = gettext_lazy(
    "Your only email address receives everything, so it keeps every role. "
    "Add another address to share the roles out."
)
RESEND_PAUSE = datetime.timedelta(minutes=1)

CONTACT_FIELDS = ["email", "name", "is_billing", "is_tech", "is_dpo"]
PHONE_FIELDS = ["label", "number"]


def _has_confirmed_billing(customer_id: int) -> bool:
    return Contact.objects.confirmed().filter(customer_id=customer_id, is_billing=True).exists()


def _keep_confirmed_billing(customer_id: int, *, had_it: bool) -> None:
    if had_it and not _has_confirmed_billing(customer_id):
        raise ValidationError(LAST_BILLING_CONTACT)


def _send_confirmation_after_commit(contact: Contact) -> None:
    jobs.after_commit(jobs.SEND_CONTACT_CONFIRMATION, contact.pk)


# ---- Email addresses ----


@transaction.atomic
def contact_save(*, contact: Contact, actor: User) -> Contact:
    """Create or update an address. A new or changed address is pending until confirmed (a
    confirmation is mailed after commit); the customer's only address holds every role; once
    the customer has a confirmed Billing address, it keeps one."""
    had_billing = _has_confirmed_billing(lock_customer(contact.customer_id).pk)
    stored = Contact.objects.filter(pk=contact.pk).first() if contact.pk else None
    is_new_address = stored is None or stored.email != contact.email
    if is_new_address:
        contact.confirmed_at = None
        contact.confirmation_sent_at = timezone.now()
    if not Contact.objects.filter(customer_id=contact.customer_id).exclude(pk=contact.pk).exists():
        contact.give_every_role()
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise ValidationError({"email": _("This email address is already a contact.")}) from None
    _keep_confirmed_billing(contact.customer_id, had_it=had_billing)
    audit.record(
        customer=contact.customer,
        actor=actor,
        action=AuditEntry.Action.CONTACT_CHANGED if stored else AuditEntry.Action.CONTACT_ADDED,
        subject=contact.email,
        before=audit.snapshot(stored, CONTACT_FIELDS) if stored else {},
        after=audit.snapshot(contact, CONTACT_FIELDS),
    )
    if is_new_address:
        _send_confirmation_after_commit(contact)
    return contact


@transaction.atomic
def contact_toggle_role(*, contact: Contact, role: str, actor: User) -> Contact:
    """Give the address the role, or take it away: at once, under the same rules as editing."""
    field = Contact.ROLES[role]
    had_billing = _has_confirmed_billing(lock_customer(contact.customer_id).pk)
    contact = Contact.objects.get(pk=contact.pk)  # as stored now, after any change we waited on
    if not Contact.objects.filter(customer_id=contact.customer_id).exclude(pk=contact.pk).exists():
        raise ValidationError(ONLY_ADDRESS)
    before = audit.snapshot(contact, [field])
    # Unticking an address's last role is allowed: the guide's move of Billing from an address
    # that had only Billing goes through it. Such an address receives nothing; the table says so.
    setattr(contact, field, not getattr(contact, field))
    contact.save(update_fields=[field])
    _keep_confirmed_billing(contact.customer_id, had_it=had_billing)
    audit.record(
        customer=contact.customer,
        actor=actor,
        action=AuditEntry.Action.CONTACT_CHANGED,
        subject=contact.email,
        before=before,
        after=audit.snapshot(contact, [field]),
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: User) -> None:
    """Remove an address, unless it is the last confirmed Billing address. The one address
    left, if one is, takes every role."""
    had_billing = _has_confirmed_billing(lock_customer(contact.customer_id).pk)
    before = audit.snapshot(contact, CONTACT_FIELDS)
    contact.delete()
    _keep_confirmed_billing(contact.customer_id, had_it=had_billing)
    audit.record(
        customer=contact.customer,
        actor=actor,
        action=AuditEntry.Action.CONTACT_REMOVED,
        subject=contact.email,
        before=before,
    )
    remaining = list(Contact.objects.filter(customer_id=contact.customer_id))
    if len(remaining) == 1 and len(remaining[0].roles) < len(Contact.ROLES):
        (last,) = remaining
        before = audit.snapshot(last, CONTACT_FIELDS)
        last.give_every_role()
        last.save(update_fields=list(Contact.ROLES.values()))
        audit.record(
            customer=last.customer,
            actor=actor,
            action=AuditEntry.Action.CONTACT_CHANGED,
            subject=last.email,
            before=before,
            after=audit.snapshot(last, CONTACT_FIELDS),
        )


@transaction.atomic
def contact_resend_confirmation(*, contact: Contact, actor: User) -> Contact:
    """Mail a pending address a fresh confirmation link (not more than once a minute)."""
    lock_customer(contact.customer_id)
    contact = Contact.objects.get(pk=contact.pk)
    if contact.is_confirmed:
        raise ValidationError(_("%(email)s is already confirmed.") % {"email": contact.email})
    now = timezone.now()
    if contact.confirmation_sent_at and now - contact.confirmation_sent_at < RESEND_PAUSE:
        raise ValidationError(
            _(
                "A confirmation went to %(email)s a moment ago. "
                "Give it a minute to arrive, and look in the spam folder too."
            )
            % {"email": contact.email}
        )
    contact.confirmation_sent_at = now
    contact.save(update_fields=["confirmation_sent_at"])
    audit.record(
        customer=contact.customer,
        actor=actor,
        action=AuditEntry.Action.CONFIRMATION_SENT,
        subject=contact.email,
    )
    _send_confirmation_after_commit(contact)
    return contact


def contact_awaiting(token: str) -> Contact:
    """The still pending address a confirmation link stands for. Raises links.LinkRefused when
    the link is tampered with, expired, already used, or for an address changed or gone."""
    contact_id, email = links.read_confirmation(token)
    contact = Contact.objects.select_related("customer").filter(pk=contact_id).first()
    if contact is None or contact.email != email:
        raise links.LinkRefused(links.Refusal.OUTDATED)
    if contact.is_confirmed:
        raise links.LinkRefused(links.Refusal.USED)
    return contact


@transaction.atomic
def contact_confirm(*, token: str) -> Contact:
    """Confirm the address a link was mailed to (links.LinkRefused as contact_awaiting)."""
    contact = contact_awaiting(token)
    lock_customer(contact.customer_id)
    # Two clicks at once: only the first, under the lock, finds the address unconfirmed.
    claimed = Contact.objects.filter(pk=contact.pk, email=contact.email, confirmed_at=None).update(
        confirmed_at=timezone.now()
    )
    if not claimed:
        raise links.LinkRefused(links.Refusal.USED)
    audit.record(
        customer=contact.customer,
        actor=None,
        action=AuditEntry.Action.CONTACT_CONFIRMED,
        subject=contact.email,
    )
    contact.refresh_from_db()
    return contact


def mail_contact_confirmation(*, contact_id: int) -> bool:
    """Send the confirmation link owed to a still pending address, once per request for one
    (claimed through `confirmation_mailed_at`; task side)."""
    contact = Contact.objects.select_related("customer").filter(pk=contact_id).first()
    if contact is None:
        return False
    claim = Contact.objects.confirmation_owed().filter(pk=contact.pk, email=contact.email)
    mail = jobs.Mail(
        kind=UndeliveredMail.Kind.CONFIRMATION,
        object_id=contact.pk,
        subject=f"Confirmation link for {contact.email}",
        recipients=[contact.email],
        customer_id=contact.customer_id,
    )
    return jobs.send_once(
        claim,
        "confirmation_mailed_at",
        lambda: emails.contact_confirmation(contact).send(),
        mail,
    )


# ---- Phones ----


@transaction.atomic
def phone_save(*, phone: Phone, actor: User) -> Phone:
    lock_customer(phone.customer_id)
    stored = Phone.objects.filter(pk=phone.pk).first() if phone.pk else None
    try:
        with transaction.atomic():
            phone.save()
    except IntegrityError:
        raise ValidationError({"number": _("This number is already on the list.")}) from None
    audit.record(
        customer=phone.customer,
        actor=actor,
        action=AuditEntry.Action.PHONE_CHANGED if stored else AuditEntry.Action.PHONE_ADDED,
        subject=phone.number,
        before=audit.snapshot(stored, PHONE_FIELDS) if stored else {},
        after=audit.snapshot(phone, PHONE_FIELDS),
    )
    return phone


@transaction.atomic
def phone_delete(*, phone: Phone, actor: User) -> None:
    lock_customer(phone.customer_id)
    audit.record(
        customer=phone.customer,
        actor=actor,
        action=AuditEntry.Action.PHONE_REMOVED,
        subject=phone.number,
        before=audit.snapshot(phone, PHONE_FIELDS),
    )
    phone.delete()
