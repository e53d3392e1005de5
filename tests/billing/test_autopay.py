"""Invoices that pay themselves, against the Stripe stand-in: saving a method on Stripe's setup
page, the charge on issue, replayed webhooks, dunning, SCA, and what stops the schedule."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from accounts.models import AuditEntry, Membership
from billing import autopay, services, tasks
from billing.models import (
    ChargeAttempt,
    CheckoutSession,
    CreditEntry,
    Invoice,
    Payment,
    PaymentMethod,
)
from tests.billing.conftest import CENTS, LINES, TOTAL, completed, deliver, state
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    draft_invoice,
    issued_invoice,
)
from tests.stripe_standin import intent_event, setup_completed_event

ADD = "/account/payment-methods/add/"


def save_card(client, standin, event_id="evt_setup_1", *, query=""):
    """Save a method the way a customer does: Add a card, Stripe's page, its webhook."""
    response = client.post(ADD + query)
    assert response.status_code == 303
    session = standin.setup_sessions[response["Location"].rsplit("/", 1)[1]]
    return deliver(client, setup_completed_event(event_id, session))


@pytest.fixture
def card(owner_client, customer, billing_contact, stripe_standin):
    save_card(owner_client, stripe_standin)
    return PaymentMethod.objects.get(customer=customer)


@pytest.fixture
def invoice(customer, card):
    """Issued by hand without delivery: the tests charge it as the task on issue would."""
    return issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))


def charges(standin):
    return standin.calls("/v1/payment_intents")


def kinds(invoice):
    return list(invoice.events.values_list("kind", flat=True))


def attempts(invoice):
    return list(
        ChargeAttempt.objects.filter(invoice=invoice).values_list("number", "status", "stopped")
    )


def succeed(client, standin, event_id="evt_pi_1"):
    """Stripe's payment_intent.succeeded for the newest charge the stand-in took."""
    intent = list(standin.payment_intents.values())[-1]
    return deliver(client, intent_event(event_id, intent))


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.retry_automatic_payments()


# ---- Saving a method ----


def test_add_a_card_opens_stripe_setup_and_the_webhook_saves_it(
    owner_client, customer, billing_contact, stripe_standin
):
    response = save_card(owner_client, stripe_standin)
    assert response.json()["outcome"] == "saved Visa •••• 4242"
    (setup,) = stripe_standin.calls("/v1/checkout/sessions")
    assert setup.form["mode"] == "setup"
    assert setup.form["payment_method_types[0]"] == "card"
    assert setup.form["currency"] == "eur"
    assert setup.form["customer"] == "cus_test_1"
    assert setup.form["success_url"] == "http://testserver/account/payment-methods/?setup=success"

    method = PaymentMethod.objects.get()
    assert (method.stripe_id, method.label, method.is_default) == (
        "pm_test_2",
        "Visa •••• 4242",
        True,
    )
    assert (method.exp_month, method.exp_year) == (12, 2028)
    customer.billing_profile.refresh_from_db()
    assert customer.billing_profile.autopay is True  # the first method turns it on
    actions = set(AuditEntry.objects.filter(customer=customer).values_list("action", flat=True))
    assert actions == {"payment_method_added", "settings_changed"}

    page = owner_client.get("/account/payment-methods/").content.decode()
    assert "Visa •••• 4242, expires 12/2028" in page
    assert "Turn off" in page


def test_a_replayed_setup_event_saves_the_method_once(owner_client, customer, card, stripe_standin):
    session = next(iter(stripe_standin.setup_sessions.values()))
    for _ in range(3):
        assert deliver(owner_client, setup_completed_event("evt_setup_1", session)).json()[
            "outcome"
        ] in {"duplicate"}
    assert PaymentMethod.objects.count() == 1
    assert AuditEntry.objects.filter(action="payment_method_added").count() == 1


def test_a_second_method_is_not_the_default(owner_client, customer, card, stripe_standin):
    stripe_standin.next_saved = {"brand": "mastercard", "last4": "4444", "exp_month": 3,
                                 "exp_year": 2030}  # fmt: skip
    # A click within the same minute gets the same page (a double click); this is later.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        save_card(owner_client, stripe_standin, "evt_setup_2")
    second = PaymentMethod.objects.get(last4="4444")
    assert not second.is_default
    owner_client.post(f"/account/payment-methods/{second.pk}/default/")
    assert list(PaymentMethod.objects.filter(is_default=True)) == [second]
    entry = AuditEntry.objects.get(action="payment_method_default")
    assert entry.after == {"default_payment_method": "Mastercard •••• 4444 expires 03/2030"}


def test_sepa_debit_is_offered_to_euro_customers_only(client, db, stripe_standin):
    member = MembershipFactory(customer__billing_profile__currency="SEK").user
    client.force_login(member)
    response = client.post(ADD + "?type=sepa_debit")
    assert response.status_code == 302
    assert stripe_standin.calls("/v1/checkout/sessions") == []
    assert "Add SEPA Direct Debit" not in client.get("/account/payment-methods/").content.decode()


def test_a_euro_customer_saves_a_sepa_mandate(
    owner_client, customer, billing_contact, stripe_standin
):
    save_card(owner_client, stripe_standin, query="?type=sepa_debit")
    (setup,) = stripe_standin.calls("/v1/checkout/sessions")
    assert setup.form["payment_method_types[0]"] == "sepa_debit"
    method = PaymentMethod.objects.get()
    assert (method.label, method.expiry_label) == ("SEPA Direct Debit •••• 3000", "")


def test_removing_a_method_detaches_it_at_stripe(owner_client, customer, card, stripe_standin):
    response = owner_client.post(f"/account/payment-methods/{card.pk}/remove/")
    assert response.status_code == 302
    assert [r.path for r in stripe_standin.requests if r.path.endswith("/detach")] == [
        f"/v1/payment_methods/{card.stripe_id}/detach"
    ]
    assert not PaymentMethod.objects.exists()
    customer.billing_profile.refresh_from_db()
    assert customer.billing_profile.autopay is False  # nothing left to charge
    assert AuditEntry.objects.filter(action="payment_method_removed").count() == 1


def test_a_setup_for_an_unknown_stripe_customer_is_flagged_not_saved(
    owner_client, customer, card, stripe_standin
):
    session = dict(next(iter(stripe_standin.setup_sessions.values())))
    session["metadata"] = {"portal_customer": "C-99999"}
    response = deliver(owner_client, setup_completed_event("evt_setup_other", session))
    assert response.json()["outcome"].startswith("A method saved for an unknown")
    assert PaymentMethod.objects.count() == 1


# ---- Hostile input: every new POST ----


@pytest.fixture
def others_card(outsider):
    customer = Membership.objects.get(user=outsider).customer
    return PaymentMethod.objects.create(
        customer=customer, stripe_id="pm_other", type="card", brand="visa", last4="1111",
        exp_month=1, exp_year=2030, is_default=True,
    )  # fmt: skip


@pytest.mark.parametrize("action", ["default", "remove"])
def test_another_customers_method_does_not_exist_here(
    owner_client, card, others_card, stripe_standin, action
):
    response = owner_client.post(f"/account/payment-methods/{others_card.pk}/{action}/")
    assert response.status_code == 404
    assert PaymentMethod.objects.filter(pk=others_card.pk, is_default=True).exists()
    assert not [r for r in stripe_standin.requests if r.path.endswith("/detach")]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (ADD, {}),
        ("/account/payment-methods/{pk}/default/", {}),
        ("/account/payment-methods/{pk}/remove/", {}),
        ("/account/autopay/", {"autopay": "off"}),
    ],
)
def test_viewers_read_payment_methods_and_change_nothing(
    client, customer, card, viewer, stripe_standin, path, data
):
    client.force_login(viewer)
    page = client.get("/account/?tab=payment-methods").content.decode()
    assert "Visa •••• 4242" in page and "Remove" not in page and "Add a card" not in page
    calls = len(stripe_standin.requests)
    audited = AuditEntry.objects.count()
    assert client.post(path.format(pk=card.pk), data).status_code == 403
    assert len(stripe_standin.requests) == calls
    assert AuditEntry.objects.count() == audited
    card.refresh_from_db()
    customer.billing_profile.refresh_from_db()
    assert card.is_default and customer.billing_profile.autopay


@pytest.mark.parametrize("value", ["", "yes", "ON", "1"])
def test_autopay_takes_on_or_off_only(owner_client, customer, card, value):
    assert owner_client.post("/account/autopay/", {"autopay": value}).status_code == 400
    customer.billing_profile.refresh_from_db()
    assert customer.billing_profile.autopay is True


def test_an_unknown_method_type_is_refused(owner_client, customer, billing_contact, stripe_standin):
    assert owner_client.post(ADD + "?type=paypal").status_code == 400
    assert stripe_standin.calls("/v1/checkout/sessions") == []


def test_autopay_cannot_be_turned_on_without_a_method(owner_client, customer):
    owner_client.post("/account/autopay/", {"autopay": "on"})
    customer.billing_profile.refresh_from_db()
    assert customer.billing_profile.autopay is False
    assert not AuditEntry.objects.exists()


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


# ---- Cards about to expire ----


def test_an_expiring_card_gets_one_email_a_month_before(customer, card, billing_contact, sent):
    PaymentMethod.objects.filter(pk=card.pk).update(exp_month=12, exp_year=2026)
    with sent():
        assert autopay.warn_expiring_cards(today=datetime.date(2026, 11, 29)) == 0
        assert autopay.warn_expiring_cards(today=datetime.date(2026, 12, 1)) == 1
        assert autopay.warn_expiring_cards(today=datetime.date(2026, 12, 2)) == 0
    (email,) = mail.outbox
    assert email.subject == "Your saved card Visa •••• 4242 expires soon"
    assert "31 Dec 2026" in email.body or "December 31, 2026" in email.body


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


def test_the_timeline_and_the_pane_read_in_swedish(owner_client, owner, invoice, stripe_standin):
    stripe_standin.charge_script = ["insufficient_funds"]
    with time_machine.travel(datetime.datetime(2026, 12, 3, 9, tzinfo=datetime.UTC), tick=False):
        autopay.charge_on_issue(invoice_id=invoice.pk)
    with translation.override("sv"):
        assert invoice.events.get(kind="autopay_failed").text == (
            "Automatisk betalning (försök 1) misslyckades: otillräckligt saldo. "
            "Nästa försök 6 december 2026."
        )
    owner.language = "sv"
    owner.save()
    page = owner_client.get("/account/payment-methods/").content.decode()
    assert "Betala fakturor automatiskt" in page and "Visa •••• 4242, går ut 12/2028" in page


def test_a_setup_event_stripe_cannot_explain_now_is_taken_on_its_redelivery(
    owner_client, customer, billing_contact, stripe_standin
):
    response = owner_client.post(ADD)
    session = stripe_standin.setup_sessions[response["Location"].rsplit("/", 1)[1]]
    stripe_standin.fail_with = 500
    assert deliver(owner_client, setup_completed_event("evt_s", session)).status_code == 503
    assert not PaymentMethod.objects.exists()
    stripe_standin.fail_with = None
    assert deliver(owner_client, setup_completed_event("evt_s", session)).status_code == 200
    assert PaymentMethod.objects.count() == 1


def test_the_payment_methods_tab_reads_in_a_few_queries(
    owner_client, card, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        assert owner_client.get("/account/payment-methods/").status_code == 200
