"""Changes to a customer's contacts, each in one transaction with the customer locked; and the
password reset throttle."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Contact, Customer, PasswordResetRequest

# Reset links asked for within the window, per typed address and per client address. A person
# who mistypes needs a few; a client asking for more is probing addresses or flooding inboxes.
RESET_WINDOW = datetime.timedelta(hours=1)
RESETS_PER_ADDRESS = 3
RESETS_PER_CLIENT = 10

LAST_BILLING_CONTACT = (
    "Invoices need somewhere to go: keep at least one contact with the Billing role. "
    "Give another address the Billing role first."
)


def _lock_customer_with_billing_state(customer_id: int) -> bool:
    # Two members may each take the Billing role off a different address at the same moment;
    # locking the customer row makes the second one see the first one's change.
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    return customer.contacts.filter(is_billing=True).exists()


def _ensure_billing_contact_remains(customer_id: int) -> None:
    if not Contact.objects.filter(customer_id=customer_id, is_billing=True).exists():
        raise ValidationError(LAST_BILLING_CONTACT)


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    """Create or update a contact. Once a customer has a Billing contact, it keeps one."""
    had_billing = _lock_customer_with_billing_state(contact.customer_id)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise ValidationError({"email": "This email address is already a contact."}) from None
    if had_billing:
        _ensure_billing_contact_remains(contact.customer_id)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Remove a contact, unless it is the customer's last Billing contact."""
    had_billing = _lock_customer_with_billing_state(contact.customer_id)
    contact.delete()
    if had_billing:
        _ensure_billing_contact_remains(contact.customer_id)


@transaction.atomic
def password_reset_request(*, email: str, ip_address: str | None) -> bool:
    """Record a request for a reset link to `email` and say whether to send it: False, and
    nothing recorded, when that address or that client asked too often within RESET_WINDOW.
    Addresses without an account count alike, so the answer tells nobody who has one."""
    now = timezone.now()
    PasswordResetRequest.objects.filter(requested_at__lt=now - RESET_WINDOW).delete()
    email = email.strip().lower()
    if (
        PasswordResetRequest.objects.filter(email=email).count() >= RESETS_PER_ADDRESS
        or PasswordResetRequest.objects.filter(ip_address=ip_address).count() >= RESETS_PER_CLIENT
    ):
        return False
    PasswordResetRequest.objects.create(email=email, ip_address=ip_address, requested_at=now)
    return True
