"""Changes on the Account pane to the customer itself: its details (Customer Info), the
staff's review of a change of country or VAT id, and the language a user reads the portal
in. Each runs in one transaction with the customer's row locked (`lock_customer`, the one
lock every change on the pane takes), and records what it changed in the audit trail."""

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEntry, Customer, TaxChange, User

# What an owner may change of the customer's details (the Customer Info form's fields, in order).
CUSTOMER_INFO_FIELDS = [
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "vat_id",
    "invoice_reference",
]
# Of those, what decides the VAT on the customer's invoices: changed only once staff approve it.
TAX_FIELDS = ["country", "vat_id"]
# The rest is stored at once.
DETAIL_FIELDS = [field for field in CUSTOMER_INFO_FIELDS if field not in TAX_FIELDS]


def lock_customer(customer_id: int) -> Customer:
    """Lock the customer's row. Every change to its contacts and team takes this one lock, so
    two members changing roles at once see each other's change rather than both passing a
    check that only one of them may pass (the last Billing address, the last owner)."""
    return Customer.objects.select_for_update().get(pk=customer_id)


def _customer_save(*, customer: Customer, fields: list[str], actor: User, action) -> Customer:
    stored = lock_customer(customer.pk)
    customer.save(update_fields=fields)
    audit.record(
        customer=customer,
        actor=actor,
        action=action,
        subject=customer.name,
        before=audit.snapshot(stored, fields),
        after=audit.snapshot(customer, fields),
    )
    return customer


@transaction.atomic
def customer_info_save(*, customer: Customer, actor: User) -> TaxChange | None:
    """Store the edited address and invoice reference: invoices issued from now on carry them.
    A different country or VAT id is not stored on the customer: it becomes a request that
    awaits the staff's review (one at a time; asking again replaces it, asking for the
    confirmed values withdraws it). Returns the request now awaiting review, if any."""
    requested = audit.snapshot(customer, TAX_FIELDS)
    confirmed = lock_customer(customer.pk)
    for field in TAX_FIELDS:
        setattr(customer, field, getattr(confirmed, field))
    _customer_save(
        customer=customer,
        fields=DETAIL_FIELDS,
        actor=actor,
        action=AuditEntry.Action.CUSTOMER_CHANGED,
    )
    pending = TaxChange.objects.pending().filter(customer=customer).first()
    if pending and pending.requested == requested:
        return pending
    if pending:
        pending.status = TaxChange.Status.WITHDRAWN
        pending.save(update_fields=["status"])
        _record_tax_change(pending, actor, AuditEntry.Action.TAX_CHANGE_WITHDRAWN, before=True)
    if requested == audit.snapshot(confirmed, TAX_FIELDS):
        return None
    change = TaxChange.objects.create(
        customer=confirmed,
        confirmed_country=confirmed.country,
        confirmed_vat_id=confirmed.vat_id,
        requested_by=actor,
        **requested,
    )
    audit.record(
        customer=confirmed,
        actor=actor,
        action=AuditEntry.Action.TAX_CHANGE_REQUESTED,
        subject=confirmed.name,
        before=audit.snapshot(confirmed, TAX_FIELDS),
        after=requested,
    )
    return change


def _record_tax_change(change: TaxChange, actor: User, action, *, before: bool) -> None:
    """The requested values, on the side of the entry the action reads them from: a withdrawn
    request's values are gone (before), a rejected one's were asked for (after)."""
    side = "before" if before else "after"
    audit.record(
        customer=change.customer,
        actor=actor,
        action=action,
        subject=change.customer.name,
        **{side: change.requested},
    )


def _decide_tax_change(change: TaxChange, actor: User, status: TaxChange.Status) -> Customer | None:
    """The customer, locked, if the request was still awaiting review and is now decided."""
    # Two staff deciding the same request at once: the second finds it decided, under the
    # customer's lock, and changes nothing.
    customer = lock_customer(change.customer_id)
    claimed = (
        TaxChange.objects.pending()
        .filter(pk=change.pk)
        .update(status=status, decided_by=actor, decided_at=timezone.now())
    )
    change.refresh_from_db()
    return customer if claimed else None


@transaction.atomic
def tax_change_approve(*, change: TaxChange, actor: User) -> bool:
    """Staff confirm a requested country or VAT id: the customer's invoices issued from now on
    are taxed by it. False when the request was no longer awaiting review."""
    customer = _decide_tax_change(change, actor, TaxChange.Status.APPROVED)
    if customer is None:
        return False
    before = audit.snapshot(customer, TAX_FIELDS)
    customer.country, customer.vat_id = change.country, change.vat_id
    customer.save(update_fields=TAX_FIELDS)
    audit.record(
        customer=customer,
        actor=actor,
        action=AuditEntry.Action.TAX_CHANGE_APPROVED,
        subject=customer.name,
        before=before,
        after=change.requested,
    )
    return True


@transaction.atomic
def tax_change_reject(*, change: TaxChange, actor: User) -> bool:
    """Staff refuse a requested country or VAT id: the confirmed ones stay. False when the
    request was no longer awaiting review."""
    if not _decide_tax_change(change, actor, TaxChange.Status.REJECTED):
        return False
    _record_tax_change(change, actor, AuditEntry.Action.TAX_CHANGE_REJECTED, before=False)
    return True


@transaction.atomic
def user_language_save(*, user: User, customer: Customer) -> User:
    """Store the language the portal speaks to `user`: their own choice, whatever their role,
    recorded in the trail of the customer they act for."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    user.save(update_fields=["language"])
    audit.record(
        customer=customer,
        actor=user,
        action=AuditEntry.Action.LANGUAGE_CHANGED,
        subject=user.email,
        before=audit.snapshot(stored, ["language"]),
        after=audit.snapshot(user, ["language"]),
    )
    return user
