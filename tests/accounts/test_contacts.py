"""Choosing which email addresses receive invoices (the Contact tab of Account settings)."""

import json

import pytest

from accounts.models import Contact
from tests.factories import ContactFactory

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "account-panel"}


@pytest.fixture
def billing_contact(customer):
    return ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)


def emails(customer):
    return sorted(customer.contacts.values_list("email", flat=True))


def test_the_contact_tab_lists_addresses_with_their_roles(owner_client, customer, billing_contact):
    ContactFactory(customer=customer, email="ops@acme.example", is_billing=False, is_tech=True)
    page = owner_client.get("/account/?tab=contact").content.decode()
    assert "ap@acme.example" in page
    assert "ops@acme.example" in page
    assert "Billing: yes" in page and "Tech: yes" in page
    assert "Create new Email" in page


def test_create_new_email_with_the_billing_role(owner_client, customer, billing_contact):
    response = owner_client.post(
        "/account/contacts/new/",
        {"email": "  Finance@Acme.Example ", "name": "Finance", "is_billing": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=contact"
    contact = customer.contacts.get(email="finance@acme.example")
    assert (contact.is_billing, contact.is_tech, contact.is_dpo) == (True, False, False)


def test_the_guides_move_of_the_billing_role_to_a_new_address(
    owner_client, customer, billing_contact
):
    owner_client.post("/account/contacts/new/", {"email": "new@acme.example", "is_billing": "on"})
    owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "ap@acme.example", "is_tech": "on"},
    )
    billing = set(customer.contacts.filter(is_billing=True).values_list("email", flat=True))
    assert billing == {"new@acme.example"}


def test_a_duplicate_address_is_refused_whatever_its_case(owner_client, customer, billing_contact):
    response = owner_client.post(
        "/account/contacts/new/", {"email": "AP@acme.example", "is_tech": "on"}
    )
    assert response.status_code == 200
    assert "This email address is already a contact." in response.content.decode()
    assert emails(customer) == ["ap@acme.example"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "", "is_billing": "on"}, "This field is required."),
        ({"email": "not-an-email", "is_billing": "on"}, "Enter a valid email address."),
        ({"email": "a@b.example\r\nBcc: all@evil.example", "is_billing": "on"}, "valid email"),
        ({"email": "x" * 250 + "@acme.example", "is_billing": "on"}, "at most 254 characters"),
        ({"email": "nobody@acme.example"}, "at least one role"),
    ],
)
def test_invalid_contacts_are_refused_and_nothing_is_stored(
    owner_client, customer, billing_contact, data, error
):
    response = owner_client.post("/account/contacts/new/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert emails(customer) == ["ap@acme.example"]


def test_markup_in_a_name_is_shown_as_text(owner_client, customer, billing_contact):
    owner_client.post(
        "/account/contacts/new/",
        {"email": "x@acme.example", "name": "<script>alert(1)</script>", "is_tech": "on"},
    )
    page = owner_client.get("/account/?tab=contact").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_last_billing_contact_cannot_lose_its_role(owner_client, customer, billing_contact):
    response = owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "ap@acme.example", "is_tech": "on"},
    )
    assert response.status_code == 200
    assert "keep at least one contact with the Billing role" in response.content.decode()
    billing_contact.refresh_from_db()
    assert billing_contact.is_billing


def test_the_last_billing_contact_cannot_be_removed(owner_client, customer, billing_contact):
    response = owner_client.post(f"/account/contacts/{billing_contact.pk}/delete/", follow=True)
    assert "keep at least one contact with the Billing role" in response.content.decode()
    assert emails(customer) == ["ap@acme.example"]


def test_removing_a_contact(owner_client, customer, billing_contact):
    other = ContactFactory(
        customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
    )
    response = owner_client.post(f"/account/contacts/{other.pk}/delete/")
    assert response.status_code == 302
    assert emails(customer) == ["ap@acme.example"]


def test_removing_twice_is_not_found_the_second_time(owner_client, customer, billing_contact):
    other = ContactFactory(
        customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
    )
    owner_client.post(f"/account/contacts/{other.pk}/delete/")
    assert owner_client.post(f"/account/contacts/{other.pk}/delete/").status_code == 404


def test_with_htmx_a_change_returns_the_panel_and_a_toast(owner_client, customer, billing_contact):
    response = owner_client.post(
        "/account/contacts/new/", {"email": "new@acme.example", "is_dpo": "on"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="account-panel" id="account-panel">')
    assert "<html" not in body
    assert "new@acme.example" in body
    toast = json.loads(response["HX-Trigger"])["messages"]["items"]
    assert toast == [{"level": "success", "text": "new@acme.example added."}]


def test_editing_another_address_to_an_existing_one_is_refused(
    owner_client, customer, billing_contact
):
    other = ContactFactory(
        customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
    )
    response = owner_client.post(
        f"/account/contacts/{other.pk}/edit/", {"email": "ap@acme.example", "is_tech": "on"}
    )
    assert "This email address is already a contact." in response.content.decode()
    other.refresh_from_db()
    assert other.email == "ops@acme.example"


def test_the_same_address_may_be_a_contact_of_two_customers(owner_client, outsider, customer):
    foreign = Contact.objects.create(
        customer=outsider.memberships.get().customer, email="shared@example.test", is_billing=True
    )
    response = owner_client.post(
        "/account/contacts/new/", {"email": foreign.email, "is_billing": "on"}
    )
    assert response.status_code == 302
    assert customer.contacts.filter(email="shared@example.test").exists()
