"""A customer's billing profile (billing.BillingProfile): the owners' changes to how invoices
and receipts reach them, made on the Account pane, in a transaction and recorded in the
Account pane's audit trail like every other change there; and its customer at Stripe."""

from django.db import transaction

from accounts import audit
from accounts.models import AuditEntry, Customer, User
from accounts.selectors import billing_emails
from billing import stripe_gateway as gateway
from billing.models import BillingProfile

# What an owner may change of the profile (the Settings tab's form); staff set the rest.
OWNER_FIELDS = ["invoice_delivery", "send_payment_receipts", "invoice_language"]


@transaction.atomic
def settings_save(*, profile: BillingProfile, actor: User) -> BillingProfile:
    """Store how invoices are delivered, whether receipts are sent, and their language."""
    stored = BillingProfile.objects.select_for_update().get(pk=profile.pk)
    profile.save(update_fields=OWNER_FIELDS)
    audit.record(
        customer=profile.customer,
        actor=actor,
        action=AuditEntry.Action.SETTINGS_CHANGED,
        subject=profile.customer.name,
        before=audit.snapshot(stored, OWNER_FIELDS),
        after=audit.snapshot(profile, OWNER_FIELDS),
    )
    return profile


def stripe_customer_for(customer: Customer, user) -> str:
    """The customer's id at Stripe, created on first payment or first saved method (Stripe's
    idempotency key makes a concurrent second creation return the same one)."""
    profile = customer.billing_profile
    if profile.stripe_customer_id:
        return profile.stripe_customer_id
    emails = billing_emails(customer)
    stripe_id = gateway.create_customer(
        name=customer.name, email=emails[0] if emails else user.email, reference=customer.number
    )
    BillingProfile.objects.filter(pk=profile.pk).update(stripe_customer_id=stripe_id)
    profile.stripe_customer_id = stripe_id
    return stripe_id
