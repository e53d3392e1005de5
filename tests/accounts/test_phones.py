"""The phone list: add, edit and remove numbers with a label, stored in E.164."""

import pytest

from accounts.models import AuditEntry
from tests.factories import PhoneFactory


def numbers(customer):
    return sorted(customer.phones.values_list("label", "number"))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("08 123 456 00", "+46812345600"),  # national, read in the customer's country (SE)
        ("+46 8-123 456 00", "+46812345600"),
        ("+49 30 1234 5678", "+493012345678"),
        ("(070) 123 45 67", "+46701234567"),
    ],
)
def test_a_number_is_stored_in_e164(owner_client, customer, typed, stored):
    response = owner_client.post("/account/phones/new/", {"label": "Office", "number": typed})
    assert response.status_code == 302
    assert numbers(customer) == [("Office", stored)]


def test_the_list_shows_numbers_as_people_read_them(owner_client, customer):
    PhoneFactory(customer=customer, label="On call", number="+46701234567")
    page = owner_client.get("/account/?tab=contact").content.decode()
    assert "+46 70 123 45 67" in page
    assert 'href="tel:+46701234567"' in page


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", "This field is required."),
        ("call me", "Enter a phone number with its country code"),
        ("12", "not a phone number that can be called"),
        ("+46 8", "Enter a phone number with its country code"),
        ("+46 8 123", "not a phone number that can be called"),
        ("+999 123 456 789", "Enter a phone number with its country code"),
        ("1" * 41, "at most 40 characters"),
        ("<script>alert(1)</script>", "Enter a phone number with its country code"),
    ],
)
def test_invalid_numbers_are_refused_and_nothing_is_stored(owner_client, customer, typed, error):
    response = owner_client.post("/account/phones/new/", {"label": "Office", "number": typed})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert numbers(customer) == []


def test_the_same_number_twice_is_refused(owner_client, customer):
    PhoneFactory(customer=customer, label="Office", number="+46812345600")
    response = owner_client.post(
        "/account/phones/new/", {"label": "Switchboard", "number": "08-123 456 00"}
    )
    assert "This number is already on the list." in response.content.decode()
    assert numbers(customer) == [("Office", "+46812345600")]


def test_editing_a_number(owner_client, customer):
    phone = PhoneFactory(customer=customer, label="Office", number="+46812345600")
    form = owner_client.get(f"/account/phones/{phone.pk}/edit/").content.decode()
    assert 'id="edit-number"' in form
    response = owner_client.post(
        f"/account/phones/{phone.pk}/edit/", {"label": "Support", "number": "+46 8 765 432 10"}
    )
    assert response.status_code == 302
    assert numbers(customer) == [("Support", "+46876543210")]
    entry = AuditEntry.objects.get(action="phone_changed")
    assert entry.before == {"label": "Office", "number": "+46812345600"}
    assert entry.after == {"label": "Support", "number": "+46876543210"}


def test_removing_a_number(owner_client, customer):
    phone = PhoneFactory(customer=customer, label="Office", number="+46812345600")
    assert owner_client.post(f"/account/phones/{phone.pk}/delete/").status_code == 302
    assert numbers(customer) == []
    assert owner_client.post(f"/account/phones/{phone.pk}/delete/").status_code == 404


def test_a_billing_member_manages_phones(client, billing_member, customer):
    client.force_login(billing_member)
    client.post("/account/phones/new/", {"label": "Office", "number": "+46812345600"})
    assert numbers(customer) == [("Office", "+46812345600")]
