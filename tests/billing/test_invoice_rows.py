"""The rows of the Invoices table (billing_tags.invoice_rows): every cell, link and menu item a
customer meets, in English and Swedish, with hostile text escaped."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice
from tests.htmx import HTMX

NOON = datetime.time(12, tzinfo=datetime.UTC)


def rows_of(response) -> dict[str, str]:
    """Each row's HTML by the invoice number in its link."""
    body = response.content.decode()
    rows = re.findall(r"<tr data-row-link>.*?</tr>", body, flags=re.DOTALL)
    return {re.search(r'class="invoice-link"[^>]*>([^<]*)</a>', row)[1]: row for row in rows}


def cells_of(row: str) -> list[str]:
    """The text of each cell, tags left out."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


@pytest.fixture
def table(customer, make_invoice):
    """An unpaid invoice of 400 with 40 paid, a paid one of 100, and a credit note of 50 on a
    third of 500 (so 450 is still owed on it); no VAT."""
    unpaid = make_invoice("400.00", issue_date=datetime.date(2026, 9, 20))
    services.record_bank_payment(
        invoice=unpaid,
        amount=Decimal("40.00"),
        received_at=datetime.datetime.combine(datetime.date(2026, 9, 22), NOON),
    )
    paid = make_invoice("100.00", issue_date=datetime.date(2026, 5, 1))
    services.record_bank_payment(
        invoice=paid,
        amount=paid.total,
        received_at=datetime.datetime.combine(paid.issue_date, NOON),
    )
    credited = make_invoice("500.00", issue_date=datetime.date(2026, 9, 1))
    note = services.issue_credit_note(
        invoice=credited,
        reason="SLA",
        net_amount=Decimal("50"),
        issue_date=datetime.date(2026, 10, 2),
        deliver=False,
    )
    return {
        key: Invoice.objects.get(pk=invoice.pk)
        for key, invoice in [
            ("unpaid", unpaid),
            ("paid", paid),
            ("credited", credited),
            ("note", note),
        ]
    }


def test_a_row_shows_each_field_under_its_phone_label(owner_client, table):
    unpaid = table["unpaid"]
    row = rows_of(owner_client.get("/invoices/"))[unpaid.number]
    due = unpaid.issue_date + datetime.timedelta(days=30)
    assert unpaid.due_date == due
    assert cells_of(row)[1:8] == [
        "Invoice",
        unpaid.number,
        "Unpaid",
        "20 Sep 2026",
        f"{due.day} {due:%b} {due.year}",
        "€400.00",
        "€360.00",  # 400 less the 40 paid
    ]
    for label in ["Type", "Invoice Number", "Status", "Invoice Date", "Due Date", "Amount"]:
        assert f'data-label="{label}"' in row
    assert 'data-label="Outstanding Amount"' in row
    assert f'aria-label="Select {unpaid.number}"' in row
    assert f'value="{unpaid.number}" form="invoice-selection"' in row
    assert '<span class="badge badge-unpaid"><svg class="icon"' in row


def test_the_number_opens_the_sheet_and_the_menu_holds_the_pdfs_and_pay(owner_client, table):
    unpaid = table["unpaid"]
    row = rows_of(owner_client.get("/invoices/"))[unpaid.number]
    url = f"/invoices/{unpaid.number}/"
    assert url == reverse("invoice_detail", args=[unpaid.number])
    assert f'href="{url}" hx-get="{url}" aria-haspopup="dialog">{unpaid.number}</a>' in row
    assert f'popovertarget="menu-{unpaid.number}"' in row
    assert f'<ul id="menu-{unpaid.number}" class="menu-list" popover role="menu"' in row
    assert f'aria-label="Actions for {unpaid.number}"' in row
    assert f'href="{url}pdf/" target="_blank" rel="noopener">' in row and "View PDF</a>" in row
    assert f'href="{url}pdf/?download=1" download="{unpaid.number}.pdf">' in row
    assert f'href="{url}pay/" hx-get="{url}pay/" hx-target="#modal-content"' in row
    assert "Pay this invoice</a>" in row


def test_only_what_is_owed_offers_pay(owner_client, table):
    rows = rows_of(owner_client.get("/invoices/"))
    assert "Pay this invoice" in rows[table["credited"].number]  # 450 still owed
    assert "Pay this invoice" not in rows[table["paid"].number]
    assert cells_of(rows[table["paid"].number])[3] == "Paid"
    assert cells_of(rows[table["paid"].number])[7] == "€0.00"


def test_a_credit_note_row_has_no_due_date_and_a_negative_amount(owner_client, table):
    note = table["note"]
    row = rows_of(owner_client.get("/invoices/?status=credit_notes"))[note.number]
    kind, _, status, issued, due, amount, outstanding = cells_of(row)[1:8]
    assert (kind, issued, due, amount, outstanding) == (
        "Credit note",
        "2 Oct 2026",
        "—",
        "−€50.00",
        "€0.00",
    )
    assert '<span class="muted">—</span>' in row
    assert "Pay this invoice" not in row


def test_rows_speak_swedish_to_a_swedish_user(owner, owner_client, table):
    owner.language = "sv"
    owner.save(update_fields=["language"])
    unpaid = table["unpaid"]
    row = rows_of(owner_client.get("/invoices/", **HTMX))[unpaid.number]
    cells = cells_of(row)
    assert cells[1] == "Faktura"
    assert cells[4] == "20 sep 2026"
    assert cells[5:8] == ["20 okt 2026", "400,00\u00a0€", "360,00\u00a0€"]
    assert f'aria-label="Markera {unpaid.number}"' in row
    assert f'aria-label="Åtgärder för {unpaid.number}"' in row
    assert 'data-label="Belopp"' in row
    # Dates are remembered per language: English again after Swedish.
    owner.language = "en"
    owner.save(update_fields=["language"])
    english = rows_of(owner_client.get("/invoices/", **HTMX))[unpaid.number]
    assert cells_of(english)[4] == "20 Sep 2026"


def test_a_hostile_invoice_number_is_escaped_in_every_attribute_and_quoted_in_links(
    owner_client, table
):
    hostile = '<b x="1">&\'?#%'
    Invoice.objects.filter(pk=table["unpaid"].pk).update(number=hostile)
    body = owner_client.get("/invoices/").content.decode()
    assert hostile not in body and "<b x=" not in body
    escaped = "&lt;b x=&quot;1&quot;&gt;&amp;&#x27;?#%"
    url = reverse("invoice_detail", args=[hostile])
    assert url == "/invoices/%3Cb%20x=%221%22%3E&'%3F%23%25/"
    url = url.replace("&", "&amp;").replace("'", "&#x27;")
    row = rows_of(owner_client.get("/invoices/"))[escaped]
    assert f'value="{escaped}"' in row
    assert f'aria-label="Select {escaped}"' in row
    assert f'popovertarget="menu-{escaped}"' in row
    assert f'download="{escaped}.pdf"' in row
    assert f'href="{url}" hx-get="{url}"' in row
    assert f'href="{url}pay/"' in row
