"""Every change on the Account pane is recorded (who, when, before, after): owners read it as
the Activity tab, staff in the admin, where nobody can add, change or delete an entry."""

import pytest
from django.core import mail

from accounts.models import AuditEntry, Membership
from tests.factories import ContactFactory, MembershipFactory, PhoneFactory


def only_entry(customer):
    (entry,) = AuditEntry.objects.filter(customer=customer)
    return entry


@pytest.fixture
def ops(customer, billing_contact):
    return ContactFactory(
        customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
    )


@pytest.mark.parametrize(
    ("url", "data", "action", "subject", "before", "after"),
    [
        (
            "/account/customer/",
            {
                "address_line1": "Storgatan 1",
                "postal_code": "111 22",
                "city": "Stockholm",
                "country": "SE",
                "vat_id": "SE556000000101",
                "invoice_reference": "PO-7",
            },
            "customer_changed",
            "Acme Cloud AB",
            {"invoice_reference": ""},
            {"invoice_reference": "PO-7"},
        ),
        (
            "/account/settings/",
            {"invoice_delivery": "link", "send_payment_receipts": "on", "invoice_language": "sv"},
            "settings_changed",
            "Acme Cloud AB",
            {"invoice_delivery": "attachment", "invoice_language": "en"},
            {"invoice_delivery": "link", "invoice_language": "sv"},
        ),
        (
            "/account/phones/new/",
            {"label": "Office", "number": "08 123 456 00"},
            "phone_added",
            "+46812345600",
            {},
            {"label": "Office", "number": "+46812345600"},
        ),
    ],
)
def test_owner_changes_are_recorded_with_before_and_after(
    owner_client, owner, customer, url, data, action, subject, before, after
):
    owner_client.post(url, data)
    entry = only_entry(customer)
    assert (entry.action, entry.subject, entry.actor, entry.actor_email) == (
        action,
        subject,
        owner,
        owner.email,
    )
    assert (entry.before, entry.after) == (before, after)


def test_contact_changes_are_recorded(owner_client, customer, billing_contact, ops, sent):
    with sent():
        owner_client.post("/account/contacts/new/", {"email": "new@acme.example", "is_dpo": "on"})
    owner_client.post(f"/account/contacts/{ops.pk}/roles/dpo/")
    owner_client.post(
        f"/account/contacts/{ops.pk}/edit/",
        {"email": "noc@acme.example", "is_tech": "on", "is_dpo": "on"},
    )
    new = customer.contacts.get(email="new@acme.example")
    new.confirmation_sent_at = None
    new.save()
    owner_client.post(f"/account/contacts/{new.pk}/resend/")
    owner_client.post(f"/account/contacts/{new.pk}/delete/")

    entries = list(AuditEntry.objects.filter(customer=customer).order_by("pk"))
    new_contact = {
        "email": "new@acme.example",
        "name": "",
        "is_billing": False,
        "is_tech": False,
        "is_dpo": True,
    }
    assert [(e.action, e.subject, e.before, e.after) for e in entries] == [
        (
            "contact_added",
            "new@acme.example",
            {},
            new_contact,
        ),
        ("contact_changed", "ops@acme.example", {"is_dpo": False}, {"is_dpo": True}),
        (
            "contact_changed",
            "noc@acme.example",
            {"email": "ops@acme.example"},
            {"email": "noc@acme.example"},
        ),
        ("confirmation_sent", "new@acme.example", {}, {}),
        (
            "contact_removed",
            "new@acme.example",
            new_contact,
            {},
        ),
    ]
    assert len(mail.outbox) == 1  # only the first request ran its after-commit work


def test_refused_changes_and_no_op_saves_record_nothing(owner_client, customer, billing_contact):
    owner_client.post(f"/account/contacts/{billing_contact.pk}/delete/")  # last Billing address
    owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "ap@acme.example", "is_billing": "on", "is_tech": "on", "is_dpo": "on"},
    )  # the only address: it takes every role now, whatever was ticked
    entries = list(AuditEntry.objects.filter(customer=customer))
    assert [e.action for e in entries] == ["contact_changed"]
    assert entries[0].after == {"is_tech": True, "is_dpo": True}
    owner_client.post(
        f"/account/contacts/{billing_contact.pk}/edit/",
        {"email": "ap@acme.example", "is_billing": "on", "is_tech": "on", "is_dpo": "on"},
    )
    assert AuditEntry.objects.filter(customer=customer).count() == 1


def test_team_changes_are_recorded(owner_client, owner, customer, sent):
    member = MembershipFactory(customer=customer, role=Membership.Role.VIEWER)
    with sent():
        owner_client.post("/account/team/invite/", {"email": "x@example.test", "role": "billing"})
    invitation = customer.invitations.get()
    owner_client.post(f"/account/team/invitations/{invitation.pk}/revoke/")
    owner_client.post(f"/account/team/{member.pk}/role/", {"role": "billing"})
    owner_client.post(f"/account/team/{member.pk}/remove/")
    entries = AuditEntry.objects.filter(customer=customer).order_by("pk")
    assert [(e.action, e.subject, e.before, e.after) for e in entries] == [
        ("member_invited", "x@example.test", {}, {"role": "billing"}),
        ("invitation_revoked", "x@example.test", {"role": "billing"}, {}),
        ("member_role_changed", member.user.email, {"role": "viewer"}, {"role": "billing"}),
        ("member_removed", member.user.email, {"role": "billing"}, {}),
    ]
    assert all(e.actor == owner for e in entries)


def test_owners_read_the_activity_in_words(owner_client, owner, customer, billing_contact, ops):
    owner_client.post(f"/account/contacts/{ops.pk}/roles/billing/")
    owner_client.post("/account/settings/", {"invoice_delivery": "link", "invoice_language": "sv"})
    page = owner_client.get("/account/?tab=activity").content.decode()
    assert "Settings changed" in page and "Email address changed" in page
    assert "Invoice delivery: <del>PDF attached to the email</del>" in page
    assert "<ins>A link to the portal only</ins>" in page
    assert "Language of invoices: <del>English</del>" in page and "<ins>Swedish</ins>" in page
    assert "Billing: <del>no</del>" in page and "<ins>yes</ins>" in page
    assert owner.email in page
    # Newest first.
    assert page.index("Settings changed") < page.index("Email address changed")


def test_the_activity_pages_by_25(owner_client, customer, django_assert_max_num_queries):
    for n in range(30):
        AuditEntry.objects.create(
            customer=customer, action="phone_added", subject=f"+4681234{n:04d}"
        )
    with django_assert_max_num_queries(6):
        first = owner_client.get("/account/?tab=activity").content.decode()
    assert first.count("Phone added") == 25 and "Page 1 of 2" in first
    second = owner_client.get("/account/?tab=activity&page=2").content.decode()
    assert second.count("Phone added") == 5
    assert "+46812340000" in second and "+46812340029" in first


def test_only_owners_see_the_activity(client, billing_member, customer):
    AuditEntry.objects.create(customer=customer, action="phone_added", subject="+46812345600")
    client.force_login(billing_member)
    page = client.get("/account/?tab=activity").content.decode()
    assert "Activity" not in page and "+46812345600" not in page


def test_another_customers_activity_is_not_shown(owner_client, outsider):
    other = outsider.memberships.get().customer
    AuditEntry.objects.create(customer=other, action="phone_added", subject="+493012345678")
    assert "+493012345678" not in owner_client.get("/account/?tab=activity").content.decode()


# ---- Admin ----


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("staff@example.test", "x-Long-pass-1")
    client.force_login(staff)
    return client


def test_staff_read_the_trail_in_the_admin_and_cannot_change_it(staff_client, customer):
    PhoneFactory(customer=customer)
    entry = AuditEntry.objects.create(
        customer=customer,
        action="settings_changed",
        subject=customer.name,
        actor_email="dana@example.test",
        before={"invoice_language": "en"},
        after={"invoice_language": "sv"},
    )
    listing = staff_client.get("/admin/accounts/auditentry/").content.decode()
    assert "dana@example.test" in listing
    assert "/admin/accounts/auditentry/add/" not in listing
    detail = staff_client.get(f"/admin/accounts/auditentry/{entry.pk}/change/").content.decode()
    assert "Language of invoices: English → Swedish" in detail
    assert 'name="_save"' not in detail
    assert staff_client.get("/admin/accounts/auditentry/add/").status_code == 403
    staff_client.post(f"/admin/accounts/auditentry/{entry.pk}/change/", {"subject": "forged"})
    assert staff_client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/").status_code == 403
    entry.refresh_from_db()
    assert entry.subject == customer.name
