"""A new or changed address is pending until the link mailed to it is opened: signed, valid 72
hours, good once. A pending address receives no invoices."""

import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.selectors import billing_emails
from billing import delivery
from tests.factories import ContactFactory, issued_invoice

HOURS = 3600


@pytest.fixture
def pending(owner_client, customer, billing_contact, sent):
    with sent():
        owner_client.post(
            "/account/contacts/new/", {"email": "new@acme.example", "is_billing": "on"}
        )
    return customer.contacts.get(email="new@acme.example")


def link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/account/confirm/\S+/)", message.body).group(1)


def later(seconds):
    """The clock the signatures read, `seconds` from now."""
    return mock.patch("django.core.signing.time.time", return_value=time.time() + seconds)


def test_the_confirmation_email_names_the_customer_and_the_link(pending, customer):
    (message,) = mail.outbox
    assert message.to == ["new@acme.example"]
    assert customer.name in message.subject
    assert "invoices, payment reminders and receipts" in message.body
    assert "within 72 hours" in message.body
    assert link_path(message).startswith("/account/confirm/")


def test_opening_the_link_asks_and_confirming_needs_no_login(guest, pending):
    path = link_path(mail.outbox[0])
    page = guest.get(path)
    assert page.status_code == 200
    assert "Confirm new@acme.example" in page.content.decode()
    pending.refresh_from_db()
    assert not pending.is_confirmed  # a mail scanner's GET confirms nothing

    done = guest.post(path)
    assert done.status_code == 200
    assert "Email address confirmed" in done.content.decode()
    pending.refresh_from_db()
    assert pending.is_confirmed


def test_a_link_confirms_once(guest, pending):
    path = link_path(mail.outbox[0])
    guest.post(path)
    confirmed_at = pending.__class__.objects.get(pk=pending.pk).confirmed_at
    for again in (guest.get(path), guest.post(path)):
        assert again.status_code == 410
        assert "This link has already been used" in again.content.decode()
    pending.refresh_from_db()
    assert pending.confirmed_at == confirmed_at


def test_a_link_older_than_72_hours_is_refused(guest, pending):
    path = link_path(mail.outbox[0])
    with later(71 * HOURS):
        assert guest.get(path).status_code == 200
    with later(72 * HOURS + 1):
        page = guest.post(path)
    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert "Resend" in page.content.decode()
    pending.refresh_from_db()
    assert not pending.is_confirmed


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature
        lambda token: "x" + token,  # payload
        lambda token: token.split(":")[0],  # no signature at all
        lambda token: "nonsense",
    ],
)
def test_a_tampered_link_is_refused(guest, pending, tamper):
    token = link_path(mail.outbox[0]).split("/")[-2]
    for method in (guest.get, guest.post):
        page = method(f"/account/confirm/{tamper(token)}/")
        assert page.status_code == 400
        assert "This link is not valid" in page.content.decode()
    pending.refresh_from_db()
    assert not pending.is_confirmed


def test_a_link_to_an_address_changed_since_is_refused(owner_client, guest, pending, sent):
    path = link_path(mail.outbox[0])
    with sent():
        owner_client.post(
            f"/account/contacts/{pending.pk}/edit/",
            {"email": "newer@acme.example", "is_billing": "on"},
        )
    page = guest.post(path)
    assert page.status_code == 410
    assert "no longer valid" in page.content.decode()
    pending.refresh_from_db()
    assert pending.email == "newer@acme.example" and not pending.is_confirmed
    assert mail.outbox[-1].to == ["newer@acme.example"]


def test_a_link_to_a_removed_address_is_refused(owner_client, guest, pending):
    path = link_path(mail.outbox[0])
    owner_client.post(f"/account/contacts/{pending.pk}/delete/")
    assert guest.post(path).status_code == 410


def test_resend_mails_a_fresh_link_once_a_minute_at_most(owner_client, pending, sent):
    pending.confirmation_sent_at = timezone.now() - timezone.timedelta(minutes=5)
    pending.save()
    with sent():
        response = owner_client.post(f"/account/contacts/{pending.pk}/resend/", follow=True)
    assert "A new confirmation link is on its way to new@acme.example." in response.content.decode()
    assert [m.to for m in mail.outbox] == [["new@acme.example"], ["new@acme.example"]]
    with sent():
        response = owner_client.post(f"/account/contacts/{pending.pk}/resend/", follow=True)
    assert "a moment ago" in response.content.decode()
    assert len(mail.outbox) == 2


def test_a_confirmed_address_is_not_sent_another_link(owner_client, billing_contact, sent):
    with sent():
        response = owner_client.post(f"/account/contacts/{billing_contact.pk}/resend/", follow=True)
    assert "ap@acme.example is already confirmed." in response.content.decode()
    assert mail.outbox == []


def test_billing_emails_returns_confirmed_billing_addresses_only(customer, billing_contact):
    ContactFactory(customer=customer, email="pending@acme.example", confirmed_at=None)
    ContactFactory(customer=customer, email="tech@acme.example", is_billing=False, is_tech=True)
    ContactFactory(customer=customer, email="second@acme.example")
    ContactFactory(email="other-customer@example.test")
    assert billing_emails(customer) == ["ap@acme.example", "second@acme.example"]


def test_an_unconfirmed_address_gets_no_invoice(customer, billing_contact):
    ContactFactory(customer=customer, email="pending@acme.example", confirmed_at=None)
    invoice = issued_invoice(customer, [("web", "vCPU-hours", "10", "vCPU-h", "0.5")])
    mail.outbox.clear()

    sent_to = delivery.email_invoice(invoice=invoice)

    assert sent_to == ["ap@acme.example"]
    assert [m.to for m in mail.outbox] == [["ap@acme.example"]]


def test_the_confirmation_is_in_the_activity(guest, pending, customer):
    guest.post(link_path(mail.outbox[0]))
    entry = AuditEntry.objects.filter(customer=customer).first()
    assert (entry.action, entry.subject, entry.actor) == (
        "contact_confirmed",
        "new@acme.example",
        None,
    )
