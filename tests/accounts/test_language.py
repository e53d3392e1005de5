"""The portal speaks each user's own language: English or Swedish, chosen on the Settings tab,
from the next page on. Without a login, the browser's Accept-Language decides."""

import pytest
from django.core import mail

from accounts.models import AuditEntry, User
from tests.accounts.conftest import HTMX
from tests.factories import MembershipFactory
from tests.htmx import htmx

SETTINGS_URL = "/account/?tab=settings"


def page(client, path="/invoices/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def choose(client, language, **headers):
    return client.post("/account/language/", {"language": language}, **headers)


def test_a_user_who_chose_swedish_reads_the_portal_in_swedish(owner_client, owner):
    owner.language = "sv"
    owner.save()
    html = page(owner_client)
    assert '<html lang="sv"' in html
    assert ">Fakturor</a>" in html and ">Översikt</a>" in html  # the sidebar
    assert "<h1>Fakturor</h1>" in html
    assert "Utestående saldo" in html and "Inga fakturor än" in html
    assert ">Invoices</a>" not in html and "Outstanding Balance" not in html
    assert page(owner_client, "/account/?tab=contact").count("Skapa ny e-postadress") == 1


def test_english_stays_english(owner_client):
    html = page(owner_client)
    assert '<html lang="en"' in html
    assert ">Invoices</a>" in html and "Outstanding Balance" in html
    assert "Fakturor" not in html


def test_switching_to_swedish_takes_effect_on_the_next_page(owner_client, owner, customer):
    response = choose(owner_client, "sv")
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    assert User.objects.get(pk=owner.pk).language == "sv"
    html = page(owner_client, SETTINGS_URL)
    assert '<html lang="sv"' in html and "Inställningar" in html
    assert "Portalens språk: Svenska." in html  # the confirmation, already in Swedish
    entry = AuditEntry.objects.get(customer=customer, action="language_changed")
    assert (entry.actor, entry.subject) == (owner, owner.email)
    assert (entry.before, entry.after) == ({"language": "en"}, {"language": "sv"})

    choose(owner_client, "en")
    assert ">Invoices</a>" in page(owner_client)
    assert AuditEntry.objects.filter(action="language_changed").count() == 2


def test_from_the_sheet_the_whole_page_reloads_in_the_new_language(owner_client, owner):
    response = choose(owner_client, "sv", **htmx("sheet-content"))
    assert response.status_code == 200
    assert response["HX-Redirect"] == SETTINGS_URL
    # The confirmation waits for the page htmx loads next, rather than vanishing with this one.
    assert "HX-Trigger" not in response
    assert "Portalens språk: Svenska." in page(owner_client, SETTINGS_URL)


def test_choosing_the_language_already_chosen_records_nothing(owner_client):
    choose(owner_client, "en")
    assert not AuditEntry.objects.filter(action="language_changed").exists()


@pytest.mark.parametrize("bad", ["fr", "", "SV", "sv-x-<script>", "en" * 20])
def test_a_language_we_do_not_speak_is_refused_and_nothing_is_stored(owner_client, owner, bad):
    response = choose(owner_client, bad, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice." in html or "This field is required." in html
    assert 'class="field field-invalid"' in html
    assert User.objects.get(pk=owner.pk).language == "en"
    assert not AuditEntry.objects.filter(action="language_changed").exists()


def test_every_role_chooses_its_own_language(client, viewer, owner, customer):
    client.force_login(viewer)
    choose(client, "sv")
    assert User.objects.get(pk=viewer.pk).language == "sv"
    assert User.objects.get(pk=owner.pk).language == "en"  # a teammate's stays as it was
    assert "<h1>Fakturor</h1>" in page(client)


def test_the_language_is_the_users_own_in_every_customer(client, owner):
    other = MembershipFactory(user=owner).customer
    client.force_login(owner)
    choose(client, "sv")
    client.post("/account/switch/", {"customer": other.pk})
    assert "<h1>Fakturor</h1>" in page(client)


def test_without_a_login_the_browser_chooses(client, db):
    swedish = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    html = swedish.content.decode()
    assert '<html lang="sv"' in html and "<h1>Logga in</h1>" in html
    assert swedish["Content-Language"] == "sv"
    assert "Accept-Language" in swedish["Vary"]
    german = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert "<h1>Log in</h1>" in german.content.decode()  # a language we lack: English


def test_a_swedish_users_browser_does_not_override_their_choice(owner_client, owner):
    assert (
        ">Invoices</a>"
        in owner_client.get("/invoices/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    )


def test_form_errors_and_messages_speak_swedish_too(owner_client, owner, customer):
    owner.language = "sv"
    owner.save()
    response = owner_client.post(
        "/account/customer/", {"country": "SE", "vat_id": "SE556677889801"}, **HTMX
    )
    assert "Kontrollsiffrorna i det här momsregistreringsnumret stämmer inte" in (
        response.content.decode()
    )
    response = owner_client.post(
        "/account/phones/new/", {"label": "Kontor", "number": "12"}, **HTMX
    )
    assert "Det här är inte ett nummer som går att ringa" in response.content.decode()


def test_mail_to_a_swedish_customers_addresses_is_swedish_whatever_the_sender_reads(
    owner_client, customer, billing_contact, sent
):
    customer.billing_profile.invoice_language = "sv"
    customer.billing_profile.save()
    with sent():
        owner_client.post(
            "/account/contacts/new/", {"email": "ny@acme.example", "is_billing": "on"}
        )
        owner_client.post(
            "/account/team/invite/", {"email": "kollega@acme.example", "role": "viewer"}
        )
    confirmation, invitation = mail.outbox
    assert confirmation.subject == "Bekräfta din e-postadress för fakturor från Acme Cloud AB"
    assert "för att ta emot: fakturor, betalningspåminnelser och kvitton." in confirmation.body
    assert invitation.subject == "Du är inbjuden till faktureringskontot för Acme Cloud AB"
    assert "med rollen Läsare." in invitation.body
    # The owner who added them reads the portal in English all the same.
    assert "ny@acme.example added. We sent it a link" in page(owner_client, "/account/?tab=contact")


@pytest.mark.parametrize(
    ("language", "swedish", "english"),
    [("en", "Swedish (svenska)", "English"), ("sv", "Svenska", "Engelska (English)")],
)
def test_both_language_lists_on_settings_name_each_language_alike(
    owner_client, owner, language, swedish, english
):
    owner.language = language
    owner.save()
    html = page(owner_client, SETTINGS_URL)
    for select in ("language", "invoice_language"):
        options = html.split(f'name="{select}"')[1].split("</select>")[0]
        assert f'value="sv">{swedish}</option>' in options.replace(" selected", "")
        assert f'value="en">{english}</option>' in options.replace(" selected", "")
