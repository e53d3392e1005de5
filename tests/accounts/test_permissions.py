"""Who may change what on the Account pane. Owners: everything. Billing members: email
addresses and phones. Viewers: nothing (403 on a direct POST). Another customer's rows do not
exist (404), whatever the role."""

import pytest

from accounts.models import AuditEntry, Membership
from tests.factories import ContactFactory, InvitationFactory, MembershipFactory, PhoneFactory


@pytest.fixture
def rows(customer):
    """One of everything the pane changes, belonging to `customer`."""
    return {
        "contact": ContactFactory(customer=customer, email="ap@acme.example"),
        "other": ContactFactory(customer=customer, email="ops@acme.example", is_tech=True),
        "phone": PhoneFactory(customer=customer),
        "member": MembershipFactory(customer=customer, role=Membership.Role.VIEWER),
        "invitation": InvitationFactory(customer=customer),
    }


CONTACT_ACTIONS = [
    ("/account/contacts/new/", {"email": "x@acme.example", "is_tech": "on"}),
    ("/account/contacts/{other}/edit/", {"email": "y@acme.example", "is_tech": "on"}),
    ("/account/contacts/{other}/delete/", {}),
    ("/account/contacts/{other}/roles/dpo/", {}),
    ("/account/contacts/{other}/resend/", {}),
    ("/account/phones/new/", {"label": "x", "number": "+46812345699"}),
    ("/account/phones/{phone}/edit/", {"label": "x", "number": "+46812345699"}),
    ("/account/phones/{phone}/delete/", {}),
]
OWNER_ACTIONS = [
    ("/account/customer/", {"country": "SE", "invoice_reference": "PO-1"}),
    ("/account/settings/", {"invoice_delivery": "link", "invoice_language": "sv"}),
    ("/account/team/invite/", {"email": "x@example.test", "role": "owner"}),
    ("/account/team/{member}/role/", {"role": "owner"}),
    ("/account/team/{member}/remove/", {}),
    ("/account/team/invitations/{invitation}/revoke/", {}),
]


def url(template, rows):
    return template.format(**{name: row.pk for name, row in rows.items()})


def snapshot(customer):
    return (
        sorted(customer.contacts.values_list("email", "is_tech", "is_dpo")),
        sorted(customer.phones.values_list("label", "number")),
        sorted(customer.memberships.values_list("user__email", "role")),
        customer.invitations.count(),
        customer.__class__.objects.filter(pk=customer.pk).values().get(),
    )


@pytest.mark.parametrize(("template", "data"), CONTACT_ACTIONS + OWNER_ACTIONS)
def test_a_viewers_direct_post_is_forbidden_and_changes_nothing(
    client, viewer, customer, rows, template, data
):
    client.force_login(viewer)
    before = snapshot(customer)
    assert client.post(url(template, rows), data).status_code == 403
    assert snapshot(customer) == before
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("template", "data"), OWNER_ACTIONS)
def test_a_billing_member_may_not_do_what_only_owners_do(
    client, billing_member, customer, rows, template, data
):
    client.force_login(billing_member)
    before = snapshot(customer)
    assert client.post(url(template, rows), data).status_code == 403
    assert snapshot(customer) == before


@pytest.mark.parametrize(("template", "data"), CONTACT_ACTIONS)
def test_a_billing_member_manages_addresses_and_phones(
    client, billing_member, rows, template, data
):
    client.force_login(billing_member)
    assert client.post(url(template, rows), data).status_code == 302


@pytest.mark.parametrize(
    ("template", "data"),
    [(t, d) for t, d in CONTACT_ACTIONS + OWNER_ACTIONS if "{" in t],
)
def test_another_customers_ids_are_not_found(client, outsider, customer, rows, template, data):
    client.force_login(outsider)  # an owner, of Globex
    before = snapshot(customer)
    assert client.post(url(template, rows), data).status_code == 404
    assert snapshot(customer) == before


@pytest.mark.parametrize(
    "path", ["/account/contacts/{other}/edit/", "/account/phones/{phone}/edit/"]
)
def test_edit_forms_of_another_customer_are_not_found(client, outsider, rows, path):
    client.force_login(outsider)
    assert client.get(url(path, rows)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("template", "data"), CONTACT_ACTIONS + OWNER_ACTIONS[:3])
def test_anonymous_posts_go_to_login(client, template, data):
    response = client.post(template.format(other=1, phone=1, member=1, invitation=1), data)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
