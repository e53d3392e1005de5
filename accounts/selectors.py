"""Reads about users, customers, contacts and the team that pages and other apps need."""

from django.db.models import QuerySet

from accounts.models import (
    AuditEntry,
    Contact,
    Customer,
    Invitation,
    Membership,
    Phone,
    TaxChange,
)


def memberships_of(user) -> list[Membership]:
    """The user's seats, with their customers, in the order the switcher shows them."""
    return list(Membership.objects.filter(user=user).select_related("customer"))


def contacts_for(customer: Customer) -> QuerySet[Contact]:
    return Contact.objects.filter(customer=customer).order_by("email")


def phones_for(customer: Customer) -> QuerySet[Phone]:
    return Phone.objects.filter(customer=customer)


def billing_emails(customer: Customer) -> list[str]:
    """Where invoices, payment reminders and receipts for this customer go: its confirmed
    addresses with the Billing role. A pending address receives nothing."""
    confirmed = contacts_for(customer).confirmed().filter(is_billing=True)
    return list(confirmed.values_list("email", flat=True))


def dpo_contacts(customer: Customer) -> QuerySet[Contact]:
    """Who handles data-protection requests: the addresses with the DPO role."""
    return contacts_for(customer).filter(is_dpo=True)


def pending_tax_change(customer: Customer) -> TaxChange | None:
    """The customer's change of country or VAT id that awaits the staff's review, if any."""
    return TaxChange.objects.pending().filter(customer=customer).first()


def team_of(customer: Customer) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(customer=customer).select_related("user").order_by("user__email")
    )


def open_invitations(customer: Customer) -> QuerySet[Invitation]:
    return Invitation.objects.filter(customer=customer, accepted_at=None).order_by("email")


def activity_of(customer: Customer) -> QuerySet[AuditEntry]:
    """The customer's audit trail, newest first."""
    return AuditEntry.objects.filter(customer=customer).order_by("-at", "-pk")
