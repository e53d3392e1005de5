"""Reads about users, customers and contacts that pages and other apps need."""

from accounts.models import Contact, Customer, Membership


def memberships_of(user) -> list[Membership]:
    """The user's seats, with their customers, in the order the switcher shows them."""
    return list(Membership.objects.filter(user=user).select_related("customer"))


def contacts_for(customer: Customer):
    return Contact.objects.filter(customer=customer).order_by("email")


def billing_emails(customer: Customer) -> list[str]:
    """Where invoices and reminders for this customer go."""
    return list(contacts_for(customer).filter(is_billing=True).values_list("email", flat=True))
