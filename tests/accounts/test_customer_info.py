"""Customer Info and Settings: owners edit the address, country, VAT id (checked for the
country's format and check digits) and invoice reference, and the invoice settings. A change
of country or VAT id awaits the staff's review (tests/accounts/test_tax_review.py)."""

import re

import pytest

from accounts.models import AuditEntry, Customer, TaxChange
from billing.models import BillingProfile
from tests.factories import ContactFactory

VALID = {
    "address_line1": "Sveavägen 42",
    "address_line2": "",
    "postal_code": "111 34",
    "city": "Stockholm",
    "country": "SE",
    "vat_id": "SE556000000101",  # the factory's: confirmed, unchanged
    "invoice_reference": "PO-2026-118",
}


def post_info(client, **changes):
    return client.post("/account/customer/", VALID | changes)


def stored(customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def billing_of(customer) -> BillingProfile:
    return BillingProfile.objects.get(customer=customer)


def test_an_owner_edits_the_details_printed_on_invoices(owner_client, customer):
    response = post_info(owner_client, vat_id="se 5560000001 01")
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=customer"
    customer = stored(customer)
    assert customer.address_line1 == "Sveavägen 42"
    assert customer.postal_code == "111 34"
    assert customer.vat_id == "SE556000000101"
    assert customer.invoice_reference == "PO-2026-118"
    assert not TaxChange.objects.exists()  # the same VAT id, typed another way


@pytest.mark.parametrize(
    ("country", "typed", "kept"),
    [
        ("SE", "556677889901", "SE556677889901"),  # the prefix is added
        ("DE", "DE 123 456 788", "DE123456788"),
        ("GR", "094259216", "EL094259216"),  # Greece writes EL
        ("NO", "NO 974 760 673 MVA", "974760673MVA"),  # outside the EU: Norway's own rules
        ("US", "12-3456789", "12-3456789"),  # no rules known: only the characters are checked
        ("SE", "", ""),
    ],
)
def test_vat_ids_are_checked_and_requested_in_one_form(
    owner_client, customer, country, typed, kept
):
    response = post_info(owner_client, country=country, vat_id=typed)
    assert response.status_code == 302
    change = TaxChange.objects.get(customer=customer)
    assert (change.country, change.vat_id) == (country, kept)


@pytest.mark.parametrize(
    ("country", "typed", "error"),
    [
        ("SE", "SE556677889801", "The check digits of this VAT id do not add up"),
        ("DE", "DE123456789", "The check digits of this VAT id do not add up"),
        ("SE", "SE5566", "This is not a VAT id from Sweden"),
        ("SE", "DE123456788", "A VAT id from Sweden starts with SE; this one starts with DE"),
        ("DE", "SE556677889901", "A VAT id from Germany starts with DE"),
        ("SE", "<script>", "This is not a VAT id from Sweden"),
        ("US", "<script>", "letters, digits and dashes only"),
    ],
)
def test_a_wrong_vat_id_is_refused_with_a_clear_message(
    owner_client, customer, country, typed, error
):
    before = stored(customer).vat_id
    response = post_info(owner_client, country=country, vat_id=typed)
    assert response.status_code == 200
    page = response.content.decode()
    assert error in page.replace("&#x27;", "'")
    assert stored(customer).vat_id == before
    assert stored(customer).country == "SE"
    assert not AuditEntry.objects.exists()
    assert not TaxChange.objects.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"country": "XX"}, "Select a valid choice"),
        ({"country": ""}, "This field is required"),
        ({"invoice_reference": "x" * 101}, "at most 100 characters"),
        ({"address_line1": "x" * 201}, "at most 200 characters"),
    ],
)
def test_other_invalid_details_are_refused(owner_client, customer, changes, error):
    response = post_info(owner_client, **changes)
    assert error in response.content.decode()
    assert stored(customer).invoice_reference == ""
    assert not TaxChange.objects.exists()


def test_an_invalid_form_does_not_show_its_values_as_saved(owner_client, customer):
    page = post_info(owner_client, city="Göteborg", vat_id="SE5566").content.decode()
    assert 'value="Göteborg"' in page  # kept in the form, to correct it
    assert "Acme Cloud AB" in page
    assert stored(customer).city == "Stockholm"


def test_customer_number_currency_and_terms_cannot_be_changed(owner_client, customer):
    post_info(owner_client, number="C-99999", currency="USD", payment_terms_days="90", name="X")
    customer_after, billing_after = stored(customer), billing_of(customer)
    assert (customer_after.number, billing_after.currency) == (customer.number, "EUR")
    assert (billing_after.payment_terms_days, customer_after.name) == (30, "Acme Cloud AB")


def test_the_tab_shows_read_only_details_and_the_dpo(owner_client, customer):
    ContactFactory(customer=customer, email="dpo@acme.example", name="Dora", is_dpo=True)
    page = owner_client.get("/account/?tab=customer").content.decode()
    assert customer.number in page and "30 days from the invoice date" in page
    assert "Dora · dpo@acme.example" in page
    assert 'name="vat_id"' in page and 'name="number"' not in page
    assert '<option value="SE" selected>Sweden</option>' in page


def test_a_billing_member_reads_the_details_without_a_form(client, billing_member, customer):
    client.force_login(billing_member)
    page = client.get("/account/?tab=customer").content.decode()
    assert customer.vat_id in page
    assert 'name="vat_id"' not in page
    assert post_info(client).status_code == 403


# ---- Settings ----


def test_an_owner_chooses_delivery_receipts_and_language(owner_client, customer):
    page = owner_client.get("/account/?tab=settings").content.decode()
    assert "PDF attached to the email" in page and "Swedish" in page
    response = owner_client.post(
        "/account/settings/", {"invoice_delivery": "link", "invoice_language": "sv"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=settings"
    billing = billing_of(customer)
    assert billing.invoice_delivery == "link"
    assert billing.send_payment_receipts is False  # an unticked box
    assert billing.invoice_language == "sv"


@pytest.mark.parametrize(
    "data",
    [
        {"invoice_delivery": "fax", "invoice_language": "en"},
        {"invoice_delivery": "link", "invoice_language": "de"},
        {"invoice_language": "en"},
    ],
)
def test_invalid_settings_are_refused(owner_client, customer, data):
    response = owner_client.post("/account/settings/", data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() or "required" in (
        response.content.decode()
    )
    billing = billing_of(customer)
    assert (billing.invoice_delivery, billing.invoice_language) == ("attachment", "en")


def test_other_members_read_the_settings(client, billing_member, customer):
    client.force_login(billing_member)
    page = client.get("/account/?tab=settings").content.decode()
    assert "PDF attached to the email" in page and "Emailed when a payment arrives" in page
    assert 'name="invoice_delivery"' not in page
    response = client.post("/account/settings/", {"invoice_delivery": "link"})
    assert response.status_code == 403
    assert billing_of(customer).invoice_delivery == "attachment"


def country_options(client) -> list[str]:
    page = client.get("/account/?tab=customer").content.decode()
    (select,) = re.findall(r'<select name="country".*?</select>', page, re.S)
    return re.findall(r"<option value=\"\w\w\"[^>]*>([^<]+)</option>", select)


def test_swedish_readers_choose_among_country_names_in_swedish_order(owner_client, owner):
    owner.language = "sv"
    owner.save()
    names = country_options(owner_client)
    assert len(names) == 249 and "Sverige" in names and "Sweden" not in names
    # Kanada among the K's, not Canada among the C's; å, ä and ö after z, in that order.
    assert names.index("Kambodja") < names.index("Kanada") < names.index("Kap Verde")
    assert names[-4:] == ["Zimbabwe", "Åland", "Österrike", "Östtimor"]
    assert "Canada" not in names and "American Samoa" not in names


def test_english_readers_read_them_in_english_order(owner_client):
    names = country_options(owner_client)
    assert names[:3] == ["Afghanistan", "Åland Islands", "Albania"]  # Å as A
    assert names.index("Canada") < names.index("Chad") and names[-1] == "Zimbabwe"
