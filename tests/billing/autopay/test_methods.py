"""Saved payment methods against the Stripe stand-in: saving one on Stripe's setup page,
replayed setup events, SEPA for euros, removing, hostile input, cards about to expire."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from accounts.models import AuditEntry, Membership
from billing import autopay
from billing.models import (
    PaymentMethod,
)
from tests.billing.autopay.conftest import ADD, save_card
from tests.billing.conftest import deliver
from tests.factories import (
    MembershipFactory,
)
from tests.stripe_standin import setup_completed_event

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
