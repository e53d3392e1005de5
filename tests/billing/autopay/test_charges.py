"""Invoices that pay themselves, against the Stripe stand-in: the charge on issue, replayed
webhooks, dunning, SCA, and what stops the schedule."""

import datetime
from decimal import Decimal

import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEntry, Membership
from billing import autopay, services
from billing.models import (
    ChargeAttempt,
    CheckoutSession,
    CreditEntry,
    Invoice,
    Payment,
)
from tests.billing.autopay.conftest import attempts, charges, kinds, save_card, succeed, sweep_at
from tests.billing.conftest import CENTS, LINES, TOTAL, completed, deliver, state
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    draft_invoice,
    issued_invoice,
)
from tests.stripe_standin import intent_event

# ---- The charge on issue ----


def test_an_invoice_issued_with_autopay_on_is_charged_after_commit(
    customer, card, stripe_standin, django_capture_on_commit_callbacks
):
    draft = draft_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    with django_capture_on_commit_callbacks() as callbacks:
        invoice = services.finalize_invoice(invoice=draft)
    assert charges(stripe_standin) == []  # not before the commit
    for callback in callbacks:
        callback()
    (charge,) = charges(stripe_standin)
    form = charge.form
    assert form["amount"] == str(CENTS)  # €212.86 in cents
    assert form["currency"] == "eur"
    assert (form["off_session"], form["confirm"]) == ("true", "true")
    assert form["customer"] == "cus_test_1"
    assert form["payment_method"] == card.stripe_id
    assert form["metadata[invoice_number]"] == invoice.number
    assert charge.headers["Idempotency-Key"] == f"autopay-{invoice.number}-1"
    assert state(invoice) == ("unpaid", Decimal("0.00"), TOTAL)  # only the webhook pays


def test_processing_is_shown_until_the_webhook_pays_once(owner_client, invoice, stripe_standin):
    autopay.charge_on_issue(invoice_id=invoice.pk)
    page = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert "Payment processing" in page
    outcomes = [succeed(owner_client, stripe_standin).json()["outcome"] for _ in range(5)]
    assert outcomes == ["paid"] + ["duplicate"] * 4
    # Another event about the same payment changes nothing either.
    assert succeed(owner_client, stripe_standin, "evt_pi_again").json()["outcome"] == "already paid"
    assert state(invoice) == ("paid", TOTAL, Decimal("0.00"))
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.stripe_payment_intent) == (
        TOTAL,
        "card",
        "pi_test_3",
    )
    assert kinds(invoice) == ["finalized", "autopay_started", "payment_received", "paid"]
    assert (
        "Payment processing"
        not in owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    )


def test_charging_twice_makes_one_request(invoice, stripe_standin):
    autopay.charge_on_issue(invoice_id=invoice.pk)
    autopay.charge_on_issue(invoice_id=invoice.pk)
    assert len(charges(stripe_standin)) == 1


def test_two_workers_running_one_attempt_charge_once(invoice, stripe_standin):
    attempt = ChargeAttempt.objects.create(invoice=invoice, number=1)
    assert autopay.run_attempt(attempt_id=attempt.pk) == "processing"
    assert autopay.run_attempt(attempt_id=attempt.pk) == "taken"
    assert len(charges(stripe_standin)) == 1


def test_credit_is_applied_first_and_only_the_rest_is_charged(customer, card, stripe_standin):
    CreditEntry.objects.create(
        customer=customer, kind="overpayment", amount=Decimal("12.86"), currency="EUR", note="x"
    )
    invoice = issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    autopay.charge_on_issue(invoice_id=invoice.pk)
    (charge,) = charges(stripe_standin)
    assert charge.form["amount"] == "20000"  # 212.86 - 12.86 credit


def test_an_invoice_credit_covers_is_not_charged(customer, card, stripe_standin):
    CreditEntry.objects.create(
        customer=customer, kind="overpayment", amount=Decimal("500.00"), currency="EUR", note="x"
    )
    invoice = issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    assert autopay.charge_on_issue(invoice_id=invoice.pk) is None
    assert charges(stripe_standin) == []
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_a_kronor_invoice_is_charged_in_ore(client, db, stripe_standin):
    owner = MembershipFactory(customer__billing_profile__currency="SEK").user
    customer = Membership.objects.get(user=owner).customer
    ContactFactory(customer=customer, email="ekonomi@nordlys.example", is_billing=True)
    client.force_login(owner)
    save_card(client, stripe_standin)
    assert stripe_standin.calls("/v1/checkout/sessions")[0].form["currency"] == "sek"
    # 1 × 1234.565 -> 1234.57 kr, no VAT: 123457 öre.
    invoice = issued_invoice(
        customer, [("k8s", "vCPU", "1", "vCPU-h", "1234.565")], vat_rate=Decimal("0")
    )
    autopay.charge_on_issue(invoice_id=invoice.pk)
    (charge,) = charges(stripe_standin)
    assert (charge.form["amount"], charge.form["currency"]) == ("123457", "sek")
    assert succeed(client, stripe_standin).json()["outcome"] == "paid"
    assert Payment.objects.get().currency == "SEK"


# ---- Dunning ----


def test_a_decline_then_success_on_the_second_retry(
    client, invoice, billing_contact, stripe_standin, sent
):
    stripe_standin.charge_script = ["card_declined", "insufficient_funds", "succeeded"]
    with sent():
        autopay.charge_on_issue(invoice_id=invoice.pk)
    first = ChargeAttempt.objects.get(number=1)
    assert attempts(invoice) == [(1, "failed", ""), (2, "scheduled", "")]
    retry = ChargeAttempt.objects.get(number=2)
    assert retry.scheduled_for == first.attempted_at + datetime.timedelta(days=3)
    (email,) = mail.outbox
    assert email.to == ["ap@acme.example"]
    assert "the card was declined" in email.body
    assert f"/invoices/{invoice.number}/pay/" in email.body
    next_try = timezone.localtime(retry.scheduled_for).date()
    assert next_try.strftime("%-d") in email.body

    # Before its day, nothing runs; on it, once, however often the beat runs.
    assert sweep_at(first.attempted_at + datetime.timedelta(days=2)) == 0
    with sent():
        assert sweep_at(retry.scheduled_for) == 1
        assert sweep_at(retry.scheduled_for) == 0
    assert attempts(invoice)[-1] == (3, "scheduled", "")
    third = ChargeAttempt.objects.get(number=3)
    assert third.scheduled_for == first.attempted_at + datetime.timedelta(days=5)
    assert len(mail.outbox) == 2 and "insufficient funds" in mail.outbox[1].body

    sweep_at(third.scheduled_for)
    assert len(charges(stripe_standin)) == 3
    keys = [c.headers["Idempotency-Key"] for c in charges(stripe_standin)]
    assert keys == [f"autopay-{invoice.number}-{n}" for n in (1, 2, 3)]
    with time_machine.travel(third.scheduled_for + datetime.timedelta(minutes=1)):
        assert succeed(client, stripe_standin).json()["outcome"] == "paid"
    assert state(invoice) == ("paid", TOTAL, Decimal("0.00"))
    assert kinds(invoice) == [
        "finalized",
        "autopay_failed",
        "autopay_failed",
        "autopay_started",
        "payment_received",
        "paid",
    ]


def test_after_the_last_retry_the_invoice_waits_and_needs_attention(
    invoice, billing_contact, stripe_standin, sent, settings
):
    settings.DUNNING_RETRY_DAYS = [2]
    stripe_standin.charge_script = ["expired_card", "card_declined"]
    with sent():
        autopay.charge_on_issue(invoice_id=invoice.pk)
        sweep_at(ChargeAttempt.objects.get(number=2).scheduled_for)
    assert attempts(invoice) == [(1, "failed", ""), (2, "failed", "")]
    assert list(ChargeAttempt.objects.needing_attention()) == [ChargeAttempt.objects.get(number=2)]
    assert "will not try again automatically" in mail.outbox[-1].body
    assert "No more automatic tries" in invoice.events.last().text
    assert sweep_at(timezone.now() + datetime.timedelta(days=30)) == 0
    assert len(charges(stripe_standin)) == 2


def test_a_failure_webhook_after_the_decline_changes_nothing(
    client, invoice, billing_contact, stripe_standin
):
    stripe_standin.charge_script = ["card_declined"]
    autopay.charge_on_issue(invoice_id=invoice.pk)
    intent = list(stripe_standin.payment_intents.values())[-1]
    event = intent_event("evt_failed", intent, succeeded=False)
    assert deliver(client, event).json()["outcome"] == "already failed"
    assert attempts(invoice) == [(1, "failed", ""), (2, "scheduled", "")]


def test_authentication_required_emails_a_link_and_does_not_retry(
    invoice, billing_contact, stripe_standin, sent
):
    stripe_standin.charge_script = ["authentication_required"]
    with sent():
        autopay.charge_on_issue(invoice_id=invoice.pk)
    assert attempts(invoice) == [(1, "needs_action", "")]
    (email,) = mail.outbox
    assert "confirm the payment" in email.subject
    assert f"http://127.0.0.1:8000/invoices/{invoice.number}/pay/" in email.body
    assert kinds(invoice)[-1] == "autopay_needs_action"
    assert sweep_at(timezone.now() + datetime.timedelta(days=30)) == 0
    assert len(charges(stripe_standin)) == 1


def test_turning_autopay_off_mid_schedule_stops_it(owner_client, invoice, stripe_standin):
    stripe_standin.charge_script = ["card_declined"]
    autopay.charge_on_issue(invoice_id=invoice.pk)
    owner_client.post("/account/autopay/", {"autopay": "off"})
    assert attempts(invoice) == [(1, "failed", ""), (2, "cancelled", "autopay_off")]
    assert sweep_at(timezone.now() + datetime.timedelta(days=10)) == 0
    assert len(charges(stripe_standin)) == 1
    assert "turned off" in invoice.events.last().text
    entry = AuditEntry.objects.filter(action="settings_changed").first()
    assert (entry.before, entry.after) == ({"autopay": True}, {"autopay": False})


def test_a_bank_payment_stops_the_schedule(invoice, stripe_standin):
    stripe_standin.charge_script = ["card_declined"]
    autopay.charge_on_issue(invoice_id=invoice.pk)
    services.record_bank_payment(invoice=invoice, amount=TOTAL, received_at=timezone.now())
    assert sweep_at(ChargeAttempt.objects.get(number=2).scheduled_for) == 1
    assert attempts(invoice) == [(1, "failed", ""), (2, "cancelled", "paid")]
    assert len(charges(stripe_standin)) == 1
    assert "paid by other means" in invoice.events.last().text


def test_stripe_unreachable_leaves_the_attempt_for_the_next_sweep(invoice, stripe_standin):
    stripe_standin.fail_with = 500
    autopay.charge_on_issue(invoice_id=invoice.pk)
    assert attempts(invoice) == [(1, "scheduled", "")]
    stripe_standin.fail_with = None
    assert sweep_at(timezone.now() + datetime.timedelta(minutes=1)) == 1
    assert ChargeAttempt.objects.get().status == "processing"


def test_staff_see_the_invoice_after_its_last_retry_as_needing_attention(
    admin_client, invoice, stripe_standin, settings
):
    settings.DUNNING_RETRY_DAYS = []
    stripe_standin.charge_script = ["card_declined"]
    autopay.charge_on_issue(invoice_id=invoice.pk)
    page = admin_client.get("/admin/billing/chargeattempt/").content.decode()
    assert invoice.number in page and "card_declined" in page
    services.record_bank_payment(invoice=invoice, amount=TOTAL, received_at=timezone.now())
    assert invoice.number not in admin_client.get("/admin/billing/chargeattempt/").content.decode()


def test_a_checkout_payment_stops_the_schedule(owner_client, invoice, stripe_standin):
    stripe_standin.charge_script = ["card_declined"]
    autopay.charge_on_issue(invoice_id=invoice.pk)
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    deliver(owner_client, completed(CheckoutSession.objects.get()))
    assert sweep_at(ChargeAttempt.objects.get(number=2).scheduled_for) == 1
    assert attempts(invoice) == [(1, "failed", ""), (2, "cancelled", "paid")]
    assert len(charges(stripe_standin)) == 1
    assert Payment.objects.get().checkout is not None
