"""One URL, two renderings: the whole page, or for an HTMX swap its fragment, with headings
that fit where the fragment lands."""

import pytest

from tests.factories import issued_invoice
from tests.htmx import HTMX, htmx


@pytest.fixture
def invoice(customer):
    return issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])


def test_a_tab_switched_on_the_full_account_page_keeps_the_pages_h1(owner_client):
    response = owner_client.get("/account/?tab=contact", **htmx("account-panel"))
    html = response.content.decode()
    assert '<h1 id="sheet-title"' in html and "<html" not in html
    assert 'hx-target="#account-panel"' in html


def test_a_tab_switched_in_the_sheet_stays_a_dialog_under_the_page(owner_client):
    response = owner_client.get("/account/?tab=contact", **htmx("sheet-content"))
    html = response.content.decode()
    assert '<h2 id="sheet-title"' in html and "<h1" not in html
    assert 'hx-target="#sheet-content"' in html  # the next tab refills the sheet too


def test_an_invoice_opened_in_the_sheet_has_dialog_headings(owner_client, invoice):
    sheet = owner_client.get(
        f"/invoices/{invoice.number}/", **htmx("sheet-content")
    ).content.decode()
    page = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert '<h2 id="sheet-title"' in sheet and "<html" not in sheet
    assert '<h1 id="sheet-title"' in page and "<html" in page


@pytest.mark.parametrize("path", ["/invoices/", "/account/"])
def test_a_history_restore_gets_the_whole_page(owner_client, path):
    response = owner_client.get(path, **htmx(history_restore=True))
    assert "<html" in response.content.decode()


@pytest.mark.parametrize("path", ["/invoices/", "/account/", "/invoices/?status=unpaid"])
def test_pages_and_fragments_say_they_vary_on_hx_request(owner_client, path):
    for headers in ({}, HTMX):
        response = owner_client.get(path, **headers)
        assert "HX-Request" in response["Vary"]
