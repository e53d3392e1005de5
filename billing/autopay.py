"""Invoices that pay themselves: saved payment methods, the charge on issue, and dunning.

Methods are saved on Stripe's hosted page (a Checkout Session in setup mode); the webhook
says which one was saved, and only its brand, last four digits and expiry are kept here.
When an invoice of a customer with auto-pay on is issued, a task charges its outstanding
amount (after credit) to the default method, off-session. Only the webhook
(`payment_intent.succeeded`) books the money (billing/webhooks.py), once. A decline schedules
the next try on each day of DUNNING_RETRY_DAYS after the first and emails the Billing
contacts; a request for authentication (SCA) emails a link to pay on Stripe's page and stops.
Retries run from the beat schedule; each is claimed with a conditional update, so two runs
never charge twice, and Stripe's idempotency key (invoice and attempt) makes a repeated
request the same payment. No row is locked while Stripe is called.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import audit
from accounts.models import AuditEntry, Customer, User
from billing import delivery, jobs, ledger, profiles
from billing import stripe_gateway as gateway
from billing.exceptions import MethodRefused
from billing.models import (
    BillingProfile,
    ChargeAttempt,
    Invoice,
    InvoiceEvent,
    PaymentMethod,
    money_params,
)

Status = ChargeAttempt.Status


# SEPA Direct Debit collects euros only.
SEPA_CURRENCY = "EUR"

# ---- Saving, choosing and removing methods (the Account pane) ----


def method_types_for(customer: Customer) -> list[str]:
    """Cards for everyone; SEPA Direct Debit for customers billed in euros."""
    types = [PaymentMethod.Type.CARD]
    if customer.billing_profile.currency == SEPA_CURRENCY:
        types.append(PaymentMethod.Type.SEPA_DEBIT)
    return types


def start_setup(
    *, customer: Customer, user: User, method_type: str, success_url: str, cancel_url: str
) -> str:
    """The address of Stripe's page where the customer saves a method of `method_type`."""
    if method_type not in method_types_for(customer):
        raise MethodRefused(gettext("This kind of payment method is not available to you."))
    if not gateway.is_configured() or gateway.is_demo():
        raise gateway.StripeUnavailable("Saving payment methods needs Stripe.")
    stripe_customer = profiles.stripe_customer_for(customer, user)
    now = timezone.now()
    created = gateway.create_setup_session(
        stripe_customer=stripe_customer,
        method_type=method_type,
        currency=customer.billing_profile.currency,
        reference=customer.number,
        success_url=success_url,
        cancel_url=cancel_url,
        # A double click within the minute opens one page.
        idempotency_key=f"setup-{customer.number}-{method_type}-{now:%Y%m%d%H%M}",
    )
    return created.url


def save_method(*, customer: Customer, saved: gateway.SavedMethod) -> PaymentMethod:
    """Keep a method Stripe saved for `customer` (in the webhook's transaction). The first
    method becomes the default and turns auto-pay on; the pane says so and it can be turned
    off."""
    profile = BillingProfile.objects.select_for_update().get(pk=customer.pk)
    existing = PaymentMethod.objects.filter(stripe_id=saved.stripe_id).first()
    if existing:
        return existing
    first = not PaymentMethod.objects.filter(customer=customer).exists()
    method = PaymentMethod.objects.create(
        customer=customer,
        stripe_id=saved.stripe_id,
        type=saved.type,
        brand=saved.brand,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
        is_default=first,
    )
    audit.record(
        customer=customer,
        actor=None,
        action=AuditEntry.Action.PAYMENT_METHOD_ADDED,
        subject=_describe(method),
        after={"payment_method": _describe(method)},
    )
    if first and not profile.autopay:
        _set_autopay(profile, on=True, actor=None)
    return method


@transaction.atomic
def make_default(*, method: PaymentMethod, actor: User) -> PaymentMethod:
    """Charge `method` from now on; the former default stays saved."""
    BillingProfile.objects.select_for_update().get(pk=method.customer_id)
    before = PaymentMethod.objects.filter(customer_id=method.customer_id, is_default=True).first()
    if before and before.pk == method.pk:
        return method
    PaymentMethod.objects.filter(customer_id=method.customer_id).update(is_default=False)
    PaymentMethod.objects.filter(pk=method.pk).update(is_default=True)
    method.is_default = True
    audit.record(
        customer=method.customer,
        actor=actor,
        action=AuditEntry.Action.PAYMENT_METHOD_DEFAULT,
        subject=_describe(method),
        before={"default_payment_method": _describe(before) if before else ""},
        after={"default_payment_method": _describe(method)},
    )
    return method


def remove_method(*, method: PaymentMethod, actor: User) -> None:
    """Detach the method at Stripe (it can never be charged again), then forget it. The newest
    other method becomes the default; without any, auto-pay turns off."""
    gateway.detach_payment_method(method.stripe_id)
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(pk=method.customer_id)
        deleted, _ = PaymentMethod.objects.filter(pk=method.pk).delete()
        if not deleted:
            return
        audit.record(
            customer=method.customer,
            actor=actor,
            action=AuditEntry.Action.PAYMENT_METHOD_REMOVED,
            subject=_describe(method),
            before={"payment_method": _describe(method)},
        )
        rest = PaymentMethod.objects.filter(customer_id=method.customer_id)
        if not rest.exists():
            if profile.autopay:
                _set_autopay(profile, on=False, actor=actor)
        elif method.is_default:
            rest.filter(pk=rest.first().pk).update(is_default=True)


@transaction.atomic
def set_autopay(*, customer: Customer, on: bool, actor: User) -> BillingProfile:
    """Turn Pay invoices automatically on or off. Off stops every automatic retry waiting."""
    profile = BillingProfile.objects.select_for_update().get(pk=customer.pk)
    if on and not PaymentMethod.objects.filter(customer=customer).exists():
        raise MethodRefused(gettext("Save a payment method first."))
    if profile.autopay != on:
        _set_autopay(profile, on=on, actor=actor)
    return profile


def _set_autopay(profile: BillingProfile, *, on: bool, actor: User | None) -> None:
    audit.record(
        customer=profile.customer,
        actor=actor,
        action=AuditEntry.Action.SETTINGS_CHANGED,
        subject=profile.customer.name,
        before={"autopay": profile.autopay},
        after={"autopay": on},
    )
    profile.autopay = on
    profile.save(update_fields=["autopay"])
    if not on:
        waiting = ChargeAttempt.objects.filter(
            invoice__customer_id=profile.pk, status=Status.SCHEDULED
        ).select_related("invoice")
        for attempt in waiting:
            _stop(attempt, ChargeAttempt.Stopped.AUTOPAY_OFF)


def _describe(method: PaymentMethod) -> str:
    return " ".join(part for part in (method.label, method.expiry_label) if part)


# ---- Charging ----


def charge_on_issue(*, invoice_id: int) -> ChargeAttempt | None:
    """The first automatic charge of a newly issued invoice; a second call finds it made."""
    invoice = Invoice.objects.select_related("customer__billing_profile").get(pk=invoice_id)
    if invoice.is_credit_note or not invoice.customer.billing_profile.autopay:
        return None
    if not invoice.is_payable:  # credit covered it, or it was paid already
        return None
    attempt, created = ChargeAttempt.objects.get_or_create(invoice=invoice, number=1)
    if created:
        run_attempt(attempt_id=attempt.pk)
    return attempt


def run_due_attempts(*, now: datetime.datetime) -> int:
    """The beat's sweep: run every retry whose day has come, and give back to the schedule an
    attempt whose worker died while asking Stripe (the same idempotency key gets Stripe's
    same answer). Returns how many attempts it ran."""
    ChargeAttempt.objects.filter(
        status=Status.CHARGING, attempted_at__lt=now - jobs.SWEEP_GRACE
    ).update(status=Status.SCHEDULED)
    due = list(ChargeAttempt.objects.due(now).values_list("pk", flat=True))
    for attempt_id in due:
        run_attempt(attempt_id=attempt_id)
    return len(due)


def run_attempt(*, attempt_id: int) -> str:
    """Charge one scheduled attempt, once: claimed first, so that a second worker or a second
    run of the sweep finds it taken."""
    now = timezone.now()
    claimed = ChargeAttempt.objects.filter(pk=attempt_id, status=Status.SCHEDULED).update(
        status=Status.CHARGING, attempted_at=now
    )
    if not claimed:
        return "taken"
    attempt = ChargeAttempt.objects.select_related("invoice__customer__billing_profile").get(
        pk=attempt_id
    )
    invoice, profile = attempt.invoice, attempt.invoice.customer.billing_profile
    method = PaymentMethod.objects.filter(customer_id=profile.pk, is_default=True).first()
    stopped = _why_stop(invoice, profile, method)
    if stopped:
        with transaction.atomic():
            _stop(attempt, stopped)
        return f"stopped: {stopped}"
    attempt.payment_method = method
    attempt.amount, attempt.currency = invoice.outstanding, invoice.currency
    attempt.save(update_fields=["payment_method", "amount", "currency"])
    try:
        result = gateway.charge_off_session(
            stripe_customer=profile.stripe_customer_id,
            payment_method=method.stripe_id,
            amount=attempt.amount,
            currency=attempt.currency,
            metadata={
                "invoice_number": invoice.number,
                "charge_attempt": str(attempt.pk),
                "portal_customer": invoice.customer.number,
            },
            idempotency_key=attempt.idempotency_key,
        )
    except gateway.StripeUnavailable:
        # Stripe could not be asked: the next sweep asks again, with the same key.
        ChargeAttempt.objects.filter(pk=attempt.pk, status=Status.CHARGING).update(
            status=Status.SCHEDULED
        )
        return "stripe unavailable"
    return _record_result(attempt, result)


def _why_stop(invoice: Invoice, profile: BillingProfile, method) -> str:
    if not invoice.is_payable:
        return ChargeAttempt.Stopped.PAID
    if not profile.autopay:
        return ChargeAttempt.Stopped.AUTOPAY_OFF
    if method is None or not profile.stripe_customer_id:
        return ChargeAttempt.Stopped.NO_METHOD
    return ""


def _stop(attempt: ChargeAttempt, why: str) -> None:
    """No more automatic tries for this invoice, and its timeline says why."""
    updated = ChargeAttempt.objects.filter(
        pk=attempt.pk, status__in=[Status.SCHEDULED, Status.CHARGING]
    ).update(status=Status.CANCELLED, stopped=why)
    if updated:
        InvoiceEvent.record(
            attempt.invoice, InvoiceEvent.Kind.AUTOPAY_STOPPED, attempt=attempt.number, why=why
        )


@transaction.atomic
def _record_result(attempt: ChargeAttempt, result: gateway.ChargeResult) -> str:
    ledger.lock_invoice(attempt.invoice)
    # The webhook may have come first (it is serialized on the intent, and reads this row).
    attempt = ChargeAttempt.objects.select_for_update().select_related("invoice").get(pk=attempt.pk)
    attempt.stripe_payment_intent = result.payment_intent
    attempt.save(update_fields=["stripe_payment_intent"])
    if attempt.status != Status.CHARGING:
        return f"already {attempt.status}"
    if result.status in {"succeeded", "processing"}:
        attempt.status = Status.PROCESSING
        attempt.save(update_fields=["status"])
        InvoiceEvent.record(
            attempt.invoice,
            InvoiceEvent.Kind.AUTOPAY_STARTED,
            attempt=attempt.number,
            method=attempt.payment_method.label if attempt.payment_method else "",
            **money_params(attempt.amount, attempt.currency),
        )
        return "processing"
    return attempt_failed(attempt, code=result.code)


def attempt_failed(attempt: ChargeAttempt, *, code: str) -> str:
    """A charge of `attempt` (locked, with its invoice locked) was declined or needs the
    customer: say so on the timeline, schedule the next try or stop, and email the Billing
    contacts after commit. Called by the charge and by its webhook: whichever comes second
    finds the attempt decided."""
    if attempt.status not in {Status.CHARGING, Status.PROCESSING}:
        return f"already {attempt.status}"
    attempt.failure_code = code
    invoice = attempt.invoice
    if code == "authentication_required":
        attempt.status = Status.NEEDS_ACTION
        attempt.save(update_fields=["status", "failure_code"])
        InvoiceEvent.record(invoice, InvoiceEvent.Kind.AUTOPAY_NEEDS_ACTION, attempt=attempt.number)
        jobs.after_commit(jobs.SEND_CHARGE_FAILED, attempt.pk)
        return "needs authentication"
    attempt.status = Status.FAILED
    next_try = _next_try(attempt)
    attempt.needs_attention = next_try is None
    attempt.save(update_fields=["status", "failure_code", "needs_attention"])
    params = {"attempt": attempt.number, "code": code}
    if next_try:
        ChargeAttempt.objects.get_or_create(
            invoice=invoice, number=attempt.number + 1, defaults={"scheduled_for": next_try}
        )
        params["next_try"] = next_try.isoformat()
    InvoiceEvent.record(invoice, InvoiceEvent.Kind.AUTOPAY_FAILED, **params)
    jobs.after_commit(jobs.SEND_CHARGE_FAILED, attempt.pk)
    return "declined"


def _next_try(attempt: ChargeAttempt) -> datetime.datetime | None:
    """Retry n runs DUNNING_RETRY_DAYS[n-1] days after the first attempt; after the last, none."""
    days = settings.DUNNING_RETRY_DAYS
    if attempt.number > len(days):
        return None
    first = ChargeAttempt.objects.get(invoice_id=attempt.invoice_id, number=1)
    return (first.attempted_at or timezone.now()) + datetime.timedelta(
        days=days[attempt.number - 1]
    )


def attempt_id_of(intent: dict) -> int | None:
    """The attempt a PaymentIntent is about, as its metadata names it (ours set it)."""
    reference = str((intent.get("metadata") or {}).get("charge_attempt", ""))
    return int(reference) if reference.isdigit() else None


# ---- Cards about to expire ----


def warn_expiring_cards(*, today: datetime.date) -> int:
    """Email the Billing contacts once about each saved card that expires within a month."""
    horizon = today + datetime.timedelta(days=31)
    cards = PaymentMethod.objects.filter(
        type=PaymentMethod.Type.CARD,
        expiry_notice_sent_at=None,
        exp_year__lte=horizon.year,
    ).select_related("customer__billing_profile")
    expiring = [card for card in cards if today <= card.expires_on <= horizon]
    for card in expiring:
        delivery.email_card_expiring(method=card)
    return len(expiring)
