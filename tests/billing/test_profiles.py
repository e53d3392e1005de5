"""Each customer's billing profile: created with the customer in the admin, billing's part of
the customer's admin page and of the Account pane."""

import re

import pytest

from accounts.models import AuditEntry, Customer
from billing.models import BillingProfile

ADD = "/admin/accounts/customer/add/"


def management_forms(page: str) -> dict:
    """The inline formsets' management fields, as the add page renders them."""
    fields = re.findall(
        r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)" value="(\d+)"', page
    )
    return dict(fields)


NEW_CUSTOMER = {
    "name": "Initech AB",
    "number": "C-30001",
    "country": "SE",
    "timezone": "Europe/Stockholm",
}


def test_staff_adding_a_customer_with_every_default_gets_its_profile(admin_client):
    form = management_forms(admin_client.get(ADD).content.decode())
    assert form["billing_profile-TOTAL_FORMS"] == "1"
    response = admin_client.post(ADD, NEW_CUSTOMER | form | {
        "billing_profile-0-currency": "EUR",
        "billing_profile-0-payment_terms_days": "30",
        "billing_profile-0-invoice_delivery": "attachment",
        "billing_profile-0-send_payment_receipts": "on",
        "billing_profile-0-invoice_language": "en",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = BillingProfile.objects.get(customer__number="C-30001")
    assert (profile.currency, profile.payment_terms_days, profile.invoice_language) == (
        "EUR",
        30,
        "en",
    )


def test_a_customer_is_not_added_without_valid_billing_terms(admin_client):
    form = management_forms(admin_client.get(ADD).content.decode())
    response = admin_client.post(ADD, NEW_CUSTOMER | form | {
        "billing_profile-0-currency": "XXX",
        "billing_profile-0-payment_terms_days": "-1",
        "billing_profile-0-invoice_delivery": "fax",
        "billing_profile-0-invoice_language": "en",
    })  # fmt: skip
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Customer.objects.filter(number="C-30001").exists()
    assert not BillingProfile.objects.filter(customer__number="C-30001").exists()


def test_the_customer_list_shows_and_filters_by_billing_terms(admin_client, customer):
    page = admin_client.get("/admin/accounts/customer/").content.decode()
    assert customer.number in page and "Payment terms (days)" in page
    filtered = admin_client.get("/admin/accounts/customer/", {"billing_profile__currency": "EUR"})
    assert customer.number in filtered.content.decode()


@pytest.mark.django_db
def test_the_activity_names_billings_settings_in_words(owner_client, customer):
    owner_client.post("/account/settings/", {"invoice_delivery": "link", "invoice_language": "sv"})
    entry = AuditEntry.objects.get(customer=customer, action="settings_changed")
    assert entry.before == {
        "invoice_delivery": "attachment",
        "send_payment_receipts": True,
        "invoice_language": "en",
    }
    page = owner_client.get("/account/?tab=activity").content.decode()
    assert "Invoice delivery:" in page and "A link to the portal only" in page
    assert "Language of invoices:" in page and "Swedish" in page
