"""Tax review: an owner's change of country or VAT id decides the VAT on the customer's
invoices, so it waits for the provider's staff. Until they approve it in the admin, the
customer's confirmed country and VAT id stay what invoices are issued with; the request and
the decision are in the Activity. Address lines and the invoice reference apply at once."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import AuditEntry, Customer, TaxChange
from portal.staff_groups import BILLING_STAFF, SUPPORT
from tests.factories import UserFactory, issued_invoice

ADMIN = "/admin/accounts/taxchange/"
GERMAN_BUSINESS = {"country": "DE", "vat_id": "DE 123 456 788"}
ACME = {  # the factory customer's confirmed details
    "address_line1": "Storgatan 1",
    "postal_code": "111 22",
    "city": "Stockholm",
    "country": "SE",
    "vat_id": "SE556000000101",
    "invoice_reference": "",
}
GROUP_MIGRATIONS = [
    importlib.import_module("portal.migrations.0001_staff_groups").create_staff_groups,
    importlib.import_module(
        "portal.migrations.0003_tax_review_staff_groups"
    ).add_tax_review_to_staff_groups,
]


def post_info(client, **changes):
    return client.post("/account/customer/", ACME | changes)


def confirmed(customer) -> tuple[str, str]:
    stored = Customer.objects.get(pk=customer.pk)
    return stored.country, stored.vat_id


def trail(customer) -> list[tuple[str, dict, dict]]:
    """(action, before, after), oldest first."""
    entries = AuditEntry.objects.filter(customer=customer).order_by("at", "pk")
    return [(entry.action, entry.before, entry.after) for entry in entries]


@pytest.fixture
def staff(db):
    """Billing staff, in the group the data migration makes."""
    for migrate in GROUP_MIGRATIONS:
        migrate(apps, None)
    user = UserFactory(is_staff=True, email="staff@provider.example")
    user.groups.add(Group.objects.get(name=BILLING_STAFF))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def requested(owner_client, customer):
    """Acme, in Sweden, asks to become a German business (reverse charge, 0%)."""
    response = post_info(owner_client, city="Malmö", invoice_reference="PO-9", **GERMAN_BUSINESS)
    assert response.status_code == 302
    return TaxChange.objects.get(customer=customer)


def decide(staff, change, action):
    return staff.post(ADMIN, {"action": action, "_selected_action": [change.pk]}, follow=True)


# ---- The owner asks ----


def test_a_change_of_country_and_vat_id_keeps_the_vat_until_staff_approve(
    owner_client, customer, requested
):
    customer.refresh_from_db()
    assert (customer.city, customer.invoice_reference) == ("Malmö", "PO-9")  # at once
    assert confirmed(customer) == ("SE", "SE556000000101")
    assert (requested.country, requested.vat_id, requested.status) == (
        "DE",
        "DE123456788",
        "pending",
    )
    # Swedish VAT on 100.00, as before the request: 25.00.
    invoice = issued_invoice(customer, [("vm", "vCPU-hours", "10", "h", "10")])
    assert (invoice.vat_rate, invoice.vat_amount, invoice.total) == (
        Decimal("25.00"),
        Decimal("25.00"),
        Decimal("125.00"),
    )
    assert (invoice.bill_to["country"], invoice.bill_to["vat_id"]) == ("SE", "SE556000000101")
    assert invoice.bill_to["address"] == ["Storgatan 1", "111 22 Malmö"]


def test_the_tab_shows_the_request_awaiting_review(owner_client, customer, requested):
    page = owner_client.get("/account/?tab=customer").content.decode()
    assert "Awaiting review" in page
    assert "change the country to Germany and the VAT id to DE123456788" in page
    assert "invoices keep Sweden and the VAT id SE556000000101" in page
    # The form holds the request, so that saving the address again keeps it.
    assert '<option value="DE" selected>Germany</option>' in page
    assert 'value="DE123456788"' in page


def test_the_success_message_says_the_change_awaits_review(owner_client, customer):
    response = owner_client.post("/account/customer/", ACME | GERMAN_BUSINESS, follow=True)
    page = response.content.decode()
    assert "The change of country or VAT id awaits review by your provider" in page


def test_the_request_is_in_the_activity(owner_client, owner, customer, requested):
    assert trail(customer) == [
        (
            "customer_changed",
            {"city": "Stockholm", "invoice_reference": ""},
            {"city": "Malmö", "invoice_reference": "PO-9"},
        ),
        (
            "tax_change_requested",
            {"country": "SE", "vat_id": "SE556000000101"},
            {"country": "DE", "vat_id": "DE123456788"},
        ),
    ]
    assert AuditEntry.objects.get(action="tax_change_requested").actor == owner
    page = owner_client.get("/account/?tab=activity").content.decode()
    assert "Change of country or VAT id requested" in page


def test_sending_the_same_request_again_makes_no_second_one(owner_client, customer, requested):
    post_info(owner_client, city="Malmö", invoice_reference="PO-9", **GERMAN_BUSINESS)
    post_info(owner_client, city="Lund", invoice_reference="PO-9", **GERMAN_BUSINESS)
    assert list(TaxChange.objects.values_list("pk", "status")) == [(requested.pk, "pending")]
    assert [action for action, *_ in trail(customer)].count("tax_change_requested") == 1


def test_asking_for_something_else_replaces_the_request(owner_client, customer, requested):
    post_info(owner_client, country="FI", vat_id="FI20774740")
    requested.refresh_from_db()
    assert requested.status == "withdrawn"
    assert TaxChange.objects.pending().get().requested == {"country": "FI", "vat_id": "FI20774740"}
    assert [action for action, *_ in trail(customer)][-2:] == [
        "tax_change_withdrawn",
        "tax_change_requested",
    ]


def test_asking_for_the_confirmed_values_withdraws_the_request(owner_client, customer, requested):
    post_info(owner_client)
    requested.refresh_from_db()
    assert requested.status == "withdrawn"
    assert not TaxChange.objects.pending().exists()
    assert "Awaiting review" not in owner_client.get("/account/?tab=customer").content.decode()
    assert trail(customer)[-1] == (
        "tax_change_withdrawn",
        {"country": "DE", "vat_id": "DE123456788"},
        {},
    )


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "changes",
    [
        {"country": "DE", "vat_id": "DE123456789"},  # a check digit off
        {"country": "SE", "vat_id": "DE123456788"},  # another country's id
        {"country": "ZZ", "vat_id": ""},
        {"country": "DE", "vat_id": "<script>alert(1)</script>"},
        {"country": ["DE", "FI"], "vat_id": "DE123456788"},
    ],
)
def test_an_invalid_request_is_refused_and_nothing_is_stored(owner_client, customer, changes):
    response = post_info(owner_client, **changes)
    assert response.status_code == 200  # the form again, with its error
    assert 'class="field-error"' in response.content.decode()
    assert not TaxChange.objects.exists()
    assert confirmed(customer) == ("SE", "SE556000000101")
    assert not AuditEntry.objects.filter(customer=customer).exists()


@pytest.mark.both_databases
def test_a_nul_in_the_vat_id_is_refused_by_the_guard_and_nothing_is_stored(owner_client, customer):
    response = post_info(owner_client, country="DE", vat_id="DE123456788\x00")
    assert response.status_code == 400  # portal.middleware.RefuseNulMiddleware's page
    assert not TaxChange.objects.exists()
    assert confirmed(customer) == ("SE", "SE556000000101")
    assert not AuditEntry.objects.filter(customer=customer).exists()


# ---- Staff decide ----


def test_staff_see_the_request_with_a_needs_attention_count(staff, requested):
    page = staff.get(ADMIN).content.decode()
    assert "Needs attention" in page and "(1)" in page
    listing = staff.get(f"{ADMIN}?attention=yes").content.decode()
    assert "DE123456788" in listing and "SE556000000101" in listing


def test_staff_approve_and_invoices_use_the_new_details(staff, owner_client, customer, requested):
    response = decide(staff, requested, "approve_selected")
    assert "Approved: 1." in response.content.decode()
    assert confirmed(customer) == ("DE", "DE123456788")
    requested.refresh_from_db()
    assert (requested.status, requested.decided_by) == ("approved", staff.user)
    entry = AuditEntry.objects.get(action="tax_change_approved")
    assert (entry.actor_email, entry.before, entry.after) == (
        "staff@provider.example",
        {"country": "SE", "vat_id": "SE556000000101"},
        {"country": "DE", "vat_id": "DE123456788"},
    )
    page = owner_client.get("/account/?tab=activity").content.decode()
    assert "Change of country or VAT id approved" in page
    assert "Awaiting review" not in owner_client.get("/account/?tab=customer").content.decode()
    invoice = issued_invoice(Customer.objects.get(pk=customer.pk), [("vm", "h", "1", "h", "10")])
    assert invoice.bill_to["country"] == "DE"


def test_staff_reject_and_the_confirmed_details_stay(staff, owner_client, customer, requested):
    response = decide(staff, requested, "reject_selected")
    assert "Rejected: 1." in response.content.decode()
    assert confirmed(customer) == ("SE", "SE556000000101")
    requested.refresh_from_db()
    assert requested.status == "rejected"
    assert trail(customer)[-1] == (
        "tax_change_rejected",
        {},
        {"country": "DE", "vat_id": "DE123456788"},
    )
    page = owner_client.get("/account/?tab=activity").content.decode()
    assert "Change of country or VAT id rejected" in page


def test_a_decided_request_cannot_be_decided_again(staff, customer, requested):
    decide(staff, requested, "reject_selected")
    response = decide(staff, requested, "approve_selected")
    assert "1 no longer awaited review" in response.content.decode()
    assert confirmed(customer) == ("SE", "SE556000000101")
    assert TaxChange.objects.get().status == "rejected"
    assert not AuditEntry.objects.filter(action="tax_change_approved").exists()


def test_a_withdrawn_request_cannot_be_approved(staff, owner_client, customer, requested):
    post_info(owner_client)  # withdrawn
    decide(staff, requested, "approve_selected")
    assert confirmed(customer) == ("SE", "SE556000000101")


def test_support_reads_requests_but_cannot_decide(staff, customer, requested):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    support = Client()
    support.force_login(user)
    page = support.get(ADMIN).content.decode()
    assert "DE123456788" in page and "approve_selected" not in page
    support.post(ADMIN, {"action": "approve_selected", "_selected_action": [requested.pk]})
    assert confirmed(customer) == ("SE", "SE556000000101")
    assert TaxChange.objects.get().status == "pending"
