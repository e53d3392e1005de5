"""The Contact tab's email table: Email Address, Billing, Tech, DPO, a tick or a cross per role
that toggles at once, edit and delete per row, and Create new Email."""

import json

import pytest
from django.core import mail

from accounts.models import Contact
from tests.accounts.conftest import HTMX
from tests.factories import ContactFactory


def emails(customer):
    return sorted(customer.contacts.values_list("email", flat=True))


def roles(contact):
    contact.refresh_from_db()
    return (contact.is_billing, contact.is_tech, contact.is_dpo)


@pytest.fixture
def ops(customer):
    return ContactFactory(
        customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
    )


def toggle(client, contact, role, **headers):
    return client.post(f"/account/contacts/{contact.pk}/roles/{role}/", **headers)


# ---- The table ----


def test_the_table_shows_a_tick_or_a_cross_per_role(owner_client, billing_contact, ops):
    page = owner_client.get("/account/?tab=contact").content.decode()
    for header in ["Email Address", "Billing", "Tech", "DPO", "Create new Email"]:
        assert header in page
    # ap: Billing only; ops: Tech only. A pressed button is a tick, an unpressed one a cross.
    assert page.count('aria-pressed="true"') == 2
    assert page.count('aria-pressed="false"') == 4
    assert f'id="role-{billing_contact.pk}-billing"' in page
    assert "Give the Tech role to ap@acme.example" in page
    assert "Take the Billing role from ap@acme.example" in page


def test_a_viewer_sees_marks_not_buttons(client, viewer, billing_contact, ops):
    client.force_login(viewer)
    page = client.get("/account/?tab=contact").content.decode()
    assert "aria-pressed" not in page
    assert "Billing: yes" in page and "Tech: no" in page
    assert "Create new Email" not in page


# ---- Toggling a role ----


def test_a_click_on_a_cross_gives_the_role_and_htmx_gets_the_row_back(
    owner_client, billing_contact, ops
):
    response = toggle(owner_client, ops, "billing", **HTMX)
    assert response.status_code == 200
    body = response.content.decode().strip()
    assert body.startswith(f'<tr id="contact-{ops.pk}">')
    assert body.endswith("</tr>")
    assert f'id="role-{ops.pk}-billing"' in body and "ap@acme.example" not in body
    assert roles(ops) == (True, True, False)
    toast = json.loads(response["HX-Trigger"])["messages"]["items"]
    assert toast == [{"level": "success", "text": "ops@acme.example now has the Billing role."}]


def test_a_click_on_a_tick_takes_the_role_away(owner_client, billing_contact, ops):
    toggle(owner_client, ops, "dpo")
    assert roles(ops) == (False, True, True)
    toggle(owner_client, ops, "dpo")
    assert roles(ops) == (False, True, False)


def test_without_javascript_the_cell_form_toggles_and_comes_back_to_the_tab(
    owner_client, billing_contact, ops
):
    response = toggle(owner_client, ops, "dpo")
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=contact"
    assert roles(ops) == (False, True, True)
    page = owner_client.get(response["Location"]).content.decode()
    assert "ops@acme.example now has the DPO role." in page


def test_the_guides_move_of_billing_to_a_new_confirmed_address(
    owner_client, customer, billing_contact, ops
):
    billing_contact.is_tech = True  # the old address stays, for technical notices
    billing_contact.save()
    ops.confirmed_at = billing_contact.confirmed_at
    ops.save()
    toggle(owner_client, ops, "billing")
    toggle(owner_client, billing_contact, "billing", **HTMX)
    billing = set(customer.contacts.filter(is_billing=True).values_list("email", flat=True))
    assert billing == {"ops@acme.example"}


def test_the_last_confirmed_billing_address_keeps_its_role(owner_client, billing_contact, ops):
    billing_contact.is_dpo = True
    billing_contact.save()
    ops.is_billing = True
    ops.confirmed_at = None  # pending: it would receive nothing
    ops.save()
    response = toggle(owner_client, billing_contact, "billing", **HTMX)
    assert response.status_code == 200
    assert f'id="role-{billing_contact.pk}-billing"' in response.content.decode()
    (toast,) = json.loads(response["HX-Trigger"])["messages"]["items"]
    assert toast["level"] == "error"
    assert "keep at least one confirmed address with the Billing role" in toast["text"]
    assert roles(billing_contact) == (True, False, True)


def test_the_only_address_holds_every_role_whatever_is_clicked(owner_client, customer):
    only = ContactFactory(customer=customer, is_billing=True, is_tech=True, is_dpo=True)
    for role in ["billing", "tech", "dpo"]:
        response = toggle(owner_client, only, role, follow=True)
        assert "Your only email address receives everything" in response.content.decode()
    assert roles(only) == (True, True, True)


def test_unticking_the_last_role_leaves_an_address_that_receives_nothing(
    owner_client, billing_contact, ops
):
    response = toggle(owner_client, ops, "tech", follow=True)
    assert roles(ops) == (False, False, False)
    assert "No role: receives nothing." in response.content.decode()


@pytest.mark.parametrize("role", ["owner", "is_billing", "BILLING", "billing;drop"])
def test_an_unknown_role_is_not_found(owner_client, ops, role):
    assert toggle(owner_client, ops, role).status_code == 404
    assert roles(ops) == (False, True, False)


def test_toggling_is_post_only(owner_client, ops):
    assert owner_client.get(f"/account/contacts/{ops.pk}/roles/dpo/").status_code == 405


# ---- Create new Email ----


def test_create_new_email_stores_a_pending_address_and_mails_it(
    owner_client, customer, billing_contact, sent
):
    with sent():
        response = owner_client.post(
            "/account/contacts/new/",
            {"email": "  Finance@Acme.Example ", "name": "Finance", "is_billing": "on"},
        )
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=contact"
    contact = customer.contacts.get(email="finance@acme.example")
    assert (contact.is_billing, contact.is_tech, contact.is_dpo) == (True, False, False)
    assert contact.confirmed_at is None and contact.confirmation_sent_at is not None
    assert [m.to for m in mail.outbox] == [["finance@acme.example"]]
    page = owner_client.get("/account/?tab=contact").content.decode()
    assert "Pending" in page and "Receives nothing until confirmed" in page


def test_the_first_address_gets_every_role_whatever_was_ticked(owner_client, customer):
    owner_client.post("/account/contacts/new/", {"email": "only@acme.example", "is_tech": "on"})
    only = customer.contacts.get()
    assert (only.is_billing, only.is_tech, only.is_dpo) == (True, True, True)


def test_a_duplicate_address_is_refused_whatever_its_case(owner_client, customer, billing_contact):
    response = owner_client.post(
        "/account/contacts/new/", {"email": "AP@acme.example", "is_tech": "on"}
    )
    assert response.status_code == 200
    assert "This email address is already a contact." in response.content.decode()
    assert emails(customer) == ["ap@acme.example"]
    assert mail.outbox == []


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
def test_invalid_addresses_are_refused_and_nothing_is_stored_or_sent(
    owner_client, customer, billing_contact, data, error, sent
):
    with sent():
        response = owner_client.post("/account/contacts/new/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert emails(customer) == ["ap@acme.example"]
    assert mail.outbox == []


def test_markup_in_a_name_is_shown_as_text(owner_client, customer, billing_contact):
    owner_client.post(
        "/account/contacts/new/",
        {"email": "x@acme.example", "name": "<script>alert(1)</script>", "is_tech": "on"},
    )
    page = owner_client.get("/account/?tab=contact").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_with_htmx_a_change_returns_the_panel_and_a_toast(owner_client, customer, billing_contact):
    response = owner_client.post(
        "/account/contacts/new/", {"email": "new@acme.example", "is_dpo": "on"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="account-panel" id="account-panel"')
    assert "<html" not in body
    assert "new@acme.example" in body
    toast = json.loads(response["HX-Trigger"])["messages"]["items"]
    assert toast == [
        {
            "level": "success",
            "text": "new@acme.example added. We sent it a link to confirm the address.",
        }
    ]


def test_the_same_address_may_be_a_contact_of_two_customers(owner_client, outsider, customer):
    foreign = Contact.objects.create(
        customer=outsider.memberships.get().customer, email="shared@example.test", is_billing=True
    )
    response = owner_client.post(
        "/account/contacts/new/", {"email": foreign.email, "is_billing": "on"}
    )
    assert response.status_code == 302
    assert customer.contacts.filter(email="shared@example.test").exists()


# ---- Edit ----


def test_editing_roles_keeps_the_address_confirmed_and_sends_nothing(
    owner_client, billing_contact, ops, sent
):
    with sent():
        owner_client.post(
            f"/account/contacts/{ops.pk}/edit/",
            {"email": "ops@acme.example", "name": "Ops", "is_tech": "on", "is_dpo": "on"},
        )
    ops.refresh_from_db()
    assert (ops.name, ops.is_tech, ops.is_dpo, ops.is_confirmed) == ("Ops", True, True, True)
    assert mail.outbox == []


def test_changing_an_address_makes_it_pending_and_mails_the_new_one(
    owner_client, billing_contact, ops, sent
):
    with sent():
        owner_client.post(
            f"/account/contacts/{ops.pk}/edit/", {"email": "noc@acme.example", "is_tech": "on"}
        )
    ops.refresh_from_db()
    assert ops.email == "noc@acme.example" and not ops.is_confirmed
    assert [m.to for m in mail.outbox] == [["noc@acme.example"]]


def test_the_last_confirmed_billing_address_cannot_be_changed_to_a_pending_one(
    owner_client, billing_contact, ops
):
    response = owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "new-ap@acme.example", "is_billing": "on"},
    )
    assert "keep at least one confirmed address with the Billing role" in response.content.decode()
    billing_contact.refresh_from_db()
    assert billing_contact.email == "ap@acme.example" and billing_contact.is_confirmed


def test_the_last_billing_address_cannot_lose_its_role_in_the_edit_form(
    owner_client, billing_contact, ops
):
    response = owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "ap@acme.example", "is_tech": "on"},
    )
    assert response.status_code == 200
    assert "keep at least one confirmed address with the Billing role" in response.content.decode()
    assert roles(billing_contact) == (True, False, False)


def test_editing_another_address_to_an_existing_one_is_refused(owner_client, billing_contact, ops):
    response = owner_client.post(
        f"/account/contacts/{ops.pk}/edit/", {"email": "AP@acme.example", "is_tech": "on"}
    )
    assert "This email address is already a contact." in response.content.decode()
    ops.refresh_from_db()
    assert ops.email == "ops@acme.example"


# ---- Delete ----


def test_removing_an_address(owner_client, customer, billing_contact, ops):
    third = ContactFactory(customer=customer, email="dpo@acme.example", is_billing=False)
    third.is_dpo = True
    third.save()
    response = owner_client.post(f"/account/contacts/{ops.pk}/delete/")
    assert response.status_code == 302
    assert emails(customer) == ["ap@acme.example", "dpo@acme.example"]


def test_the_last_confirmed_billing_address_cannot_be_removed(
    owner_client, customer, billing_contact, ops
):
    response = owner_client.post(f"/account/contacts/{billing_contact.pk}/delete/", follow=True)
    assert "keep at least one confirmed address with the Billing role" in response.content.decode()
    assert emails(customer) == ["ap@acme.example", "ops@acme.example"]


def test_the_address_left_alone_takes_every_role(owner_client, customer, billing_contact, ops):
    owner_client.post(f"/account/contacts/{ops.pk}/delete/")
    assert roles(billing_contact) == (True, True, True)


def test_a_pending_address_may_be_removed(owner_client, customer, billing_contact, ops):
    ops.confirmed_at = None
    ops.save()
    owner_client.post(f"/account/contacts/{ops.pk}/delete/")
    assert emails(customer) == ["ap@acme.example"]


def test_removing_twice_is_not_found_the_second_time(owner_client, billing_contact, ops):
    owner_client.post(f"/account/contacts/{ops.pk}/delete/")
    assert owner_client.post(f"/account/contacts/{ops.pk}/delete/").status_code == 404


def test_the_contact_tab_costs_a_fixed_number_of_queries(
    owner_client, customer, billing_contact, django_assert_max_num_queries
):
    for n in range(20):
        ContactFactory(customer=customer, email=f"c{n}@acme.example", is_tech=True)
    # session, user, memberships, contacts, phones (+ the savepoint-free reads of the layout)
    with django_assert_max_num_queries(6):
        owner_client.get("/account/?tab=contact", **HTMX)
