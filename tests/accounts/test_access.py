"""Who may reach what: anonymous visitors log in first, nobody sees another customer's data,
and a viewer reads but cannot change."""

import pytest

from tests.factories import ContactFactory, CustomerFactory, MembershipFactory

CUSTOMER_PAGES = ["/dashboard/", "/usage/", "/account/", "/account/?tab=contact"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", CUSTOMER_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", CUSTOMER_PAGES)
def test_members_reach_every_customer_page(owner_client, url):
    assert owner_client.get(url).status_code == 200


def test_another_customers_contact_does_not_exist_for_an_outsider(client, outsider, customer):
    contact = ContactFactory(customer=customer, email="ap@acme.example")
    client.force_login(outsider)
    assert client.get(f"/account/contacts/{contact.pk}/edit/").status_code == 404
    response = client.post(f"/account/contacts/{contact.pk}/delete/")
    assert response.status_code == 404
    response = client.post(
        f"/account/contacts/{contact.pk}/edit/", {"email": "x@evil.example", "is_billing": "on"}
    )
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.email == "ap@acme.example"


def test_an_outsider_cannot_switch_to_a_customer_they_do_not_belong_to(client, outsider, customer):
    client.force_login(outsider)
    response = client.post("/account/switch/", {"customer": customer.pk})
    assert response.status_code == 404
    assert customer.name not in client.get("/dashboard/").content.decode()


@pytest.mark.parametrize("bad", ["", "abc", "-1", "99999999"])
def test_switching_to_nonsense_is_not_found(owner_client, bad):
    assert owner_client.post("/account/switch/", {"customer": bad}).status_code == 404


def test_a_member_of_two_customers_switches_between_them(client, owner, customer):
    second = CustomerFactory(name="Initech GmbH")
    MembershipFactory(user=owner, customer=second)
    client.force_login(owner)
    assert "Acme Cloud AB" in client.get("/dashboard/").content.decode()
    response = client.post("/account/switch/", {"customer": second.pk})
    assert response.status_code == 302
    page = client.get("/account/").content.decode()
    assert "Initech GmbH" in page
    assert f'<option value="{customer.pk}">Acme Cloud AB</option>' in page


def test_a_viewer_cannot_change_contacts(client, viewer, customer):
    contact = ContactFactory(customer=customer, email="ap@acme.example")
    client.force_login(viewer)
    assert client.get("/account/?tab=contact").status_code == 200
    assert client.post("/account/contacts/new/", {"email": "new@acme.example"}).status_code == 403
    assert client.get(f"/account/contacts/{contact.pk}/edit/").status_code == 403
    assert client.post(f"/account/contacts/{contact.pk}/delete/").status_code == 403
    assert customer.contacts.count() == 1


def test_a_login_without_a_customer_is_told_why(client, django_user_model):
    user = django_user_model.objects.create_user("lonely@example.test", "pw-Long-enough-1")
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "not linked to any customer account" in response.content.decode()
