"""The Invoices page, the detail sheet, PDFs and ZIPs, as a customer reaches them."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import ledger, services
from billing.models import Invoice
from tests.billing.conftest import LINES
from tests.factories import CustomerFactory, issued_invoice
from tests.htmx import HTMX, htmx

NOON = datetime.time(12, tzinfo=datetime.UTC)


@pytest.fixture
def history(customer, make_invoice):
    """Five invoices in every state a customer meets, and one credit note.

    Totals (no VAT): 100, 200, 300 (paid), 400 (40 paid), 500 (overdue), credit -50 on the 500.
    """
    invoices = {
        "paid_100": make_invoice("100.00", issue_date=datetime.date(2026, 5, 1)),
        "paid_200": make_invoice("200.00", issue_date=datetime.date(2026, 6, 1)),
        "paid_300": make_invoice("300.00", issue_date=datetime.date(2026, 7, 1)),
        "partly_paid_400": make_invoice("400.00", issue_date=datetime.date(2026, 9, 20)),
        "overdue_500": make_invoice("500.00", issue_date=datetime.date(2026, 9, 1)),
    }
    for key in ("paid_100", "paid_200", "paid_300"):
        invoice = invoices[key]
        services.record_bank_payment(
            invoice=invoice,
            amount=invoice.total,
            received_at=datetime.datetime.combine(invoice.issue_date, NOON),
        )
    services.record_bank_payment(
        invoice=invoices["partly_paid_400"],
        amount=Decimal("40.00"),
        received_at=datetime.datetime.combine(datetime.date(2026, 9, 22), NOON),
    )
    # On 15 Oct the 500 (due 1 Oct) is overdue; the 400 (due 20 Oct) is not yet.
    services.flag_overdue_invoices(now=datetime.datetime(2026, 10, 15, 12, tzinfo=datetime.UTC))
    invoices["credit_50"] = services.issue_credit_note(
        invoice=invoices["overdue_500"],
        reason="SLA",
        net_amount=Decimal("50"),
        issue_date=datetime.date(2026, 10, 2),
        deliver=False,
    )
    # Another customer's invoice and a draft: never counted, never listed.
    issued_invoice(CustomerFactory(), [("x", "y", "1", "h", "999")])
    services.create_draft(customer=customer)
    return {key: Invoice.objects.get(pk=inv.pk) for key, inv in invoices.items()}


def numbers_on(response) -> list[str]:
    return [invoice.number for invoice in response.context["page"].object_list]


def test_cards_equal_sums_computed_by_hand(owner_client, history):
    stats = owner_client.get("/invoices/").context["stats"]
    # Outstanding: (400 - 40) + (500 - 50 credited) = 810; paid: 100 + 200 + 300 + 40 = 640.
    assert stats.outstanding == {"EUR": Decimal("810.00")}
    assert stats.total_paid == {"EUR": Decimal("640.00")}
    assert stats.overdue == 1
    assert stats.total == 5  # five invoices; the draft is not issued
    assert stats.credit_notes == 1  # counted apart


def test_cards_render_as_the_guide_names_them(owner_client, history):
    page = owner_client.get("/invoices/").content.decode()
    for label in ["Outstanding Balance", "Total Paid", "Overdue", "Total Invoices"]:
        assert label in page
    assert "€810.00" in page and "€640.00" in page


def test_tabs_list_exactly_the_right_invoices_newest_first(owner_client, history):
    h = history
    assert numbers_on(owner_client.get("/invoices/")) == [
        h["partly_paid_400"].number,
        h["overdue_500"].number,
        h["paid_300"].number,
        h["paid_200"].number,
        h["paid_100"].number,
    ]
    unpaid = owner_client.get("/invoices/?status=unpaid")
    assert numbers_on(unpaid) == [h["partly_paid_400"].number, h["overdue_500"].number]
    paid = owner_client.get("/invoices/?status=paid")
    assert numbers_on(paid) == [
        h["paid_300"].number,
        h["paid_200"].number,
        h["paid_100"].number,
    ]
    credit_notes = owner_client.get("/invoices/?status=credit_notes")
    assert numbers_on(credit_notes) == [h["credit_50"].number]
    assert [(k, c) for k, _, c in unpaid.context["tabs"]] == [
        ("all", 5),
        ("unpaid", 2),
        ("paid", 3),
        ("credit_notes", 1),
    ]


def test_the_invoices_page_dashboard_and_usage_page_count_invoices_alike(owner_client, history):
    """By hand: five invoices (three paid, the 400 unpaid, the 500 overdue) and one credit
    note, which every page counts apart and says so."""
    invoices_page = owner_client.get("/invoices/").content.decode()
    dashboard = owner_client.get("/dashboard/").content.decode()
    usage_page = owner_client.get("/usage/").content.decode()
    for page in (invoices_page, dashboard):
        assert '<p class="card-figure">5</p>' in page  # Total Invoices
        assert "not counting 1 credit note" in page
        assert "3 settled" in page  # Total Paid's note
        assert "2 unpaid invoices" in page
    for label, count in [("All", 5), ("Unpaid", 2), ("Paid", 3), ("Credit notes", 1)]:
        assert f'{label} <span class="tab-count">{count}</span>' in invoices_page
    for status, count in [("paid", 3), ("unpaid", 1), ("overdue", 1)]:
        row = usage_page.split(f'<tr data-status="{status}">')[1].split("</tr>")[0]
        assert f'<td class="num">{count} <span' in row
    assert "Invoices only: 1 credit note is not counted." in usage_page


def test_the_credit_notes_tab_explains_when_there_are_none(owner_client, make_invoice):
    make_invoice("100.00")
    response = owner_client.get("/invoices/?status=credit_notes")
    assert numbers_on(response) == []
    assert "No credit notes" in response.content.decode()


def test_an_unknown_tab_shows_all(owner_client, history):
    response = owner_client.get("/invoices/?status=<script>")
    assert response.context["status"] == "all"
    assert "<script>" not in response.content.decode()


def test_rows_show_status_words_and_outstanding_amounts(owner_client, history):
    page = owner_client.get("/invoices/").content.decode()
    assert 'badge-paid">' in page and "Paid</span>" in page
    assert "Overdue</span>" in page and "Unpaid</span>" in page
    assert "€360.00" in page  # the 400 less 40 paid
    assert "€450.00" in page  # the 500 less the 50 credit
    notes = owner_client.get("/invoices/?status=credit_notes").content.decode()
    assert "−€50.00" in notes  # the credit note's amount


def test_search_by_invoice_number(owner_client, history):
    wanted = history["paid_200"].number
    response = owner_client.get("/invoices/", {"q": wanted[-4:]})
    assert numbers_on(response) == [wanted]
    nothing = owner_client.get("/invoices/", {"q": "NOPE' OR 1=1 --"})
    assert numbers_on(nothing) == []
    assert "No invoice matches" in nothing.content.decode()


def test_pagination_shows_25_a_page(owner_client, customer, make_invoice):
    for day in range(1, 28):
        make_invoice(issue_date=datetime.date(2026, 3, day))
    first = owner_client.get("/invoices/")
    second = owner_client.get("/invoices/?page=2")
    assert len(numbers_on(first)) == 25
    assert len(numbers_on(second)) == 2
    assert set(numbers_on(first)).isdisjoint(numbers_on(second))
    assert "Showing 1–25 of 27" in first.content.decode()
    assert numbers_on(owner_client.get("/invoices/?page=junk")) == numbers_on(first)
    assert numbers_on(owner_client.get("/invoices/?page=999")) == numbers_on(second)


def test_htmx_tab_switch_returns_only_the_results(owner_client, history):
    response = owner_client.get("/invoices/?status=unpaid", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="invoice-results"')
    assert "<html" not in body and "Outstanding Balance" not in body
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_history_restore_gets_the_whole_page(owner_client, history):
    response = owner_client.get("/invoices/?status=unpaid", **htmx(history_restore=True))
    assert "<html" in response.content.decode()


def test_a_new_customer_sees_what_to_expect(owner_client):
    page = owner_client.get("/invoices/").content.decode()
    assert "No invoices yet" in page
    assert "<table" not in page


def test_the_list_query_count_does_not_grow_with_invoices(
    owner_client, customer, django_assert_max_num_queries
):
    bulk_invoices(customer, 10)
    with django_assert_max_num_queries(7) as few:
        owner_client.get("/invoices/")
    bulk_invoices(customer, 490)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get("/invoices/?status=unpaid")
    assert response.context["stats"].total == 500


def bulk_invoices(customer, count):
    start = Invoice.objects.count()
    Invoice.objects.bulk_create(
        Invoice(
            customer=customer,
            number=f"INV-2025-{start + n + 1:04d}",
            status="unpaid" if n % 3 else "paid",
            issue_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=n % 300),
            due_date=datetime.date(2025, 2, 1),
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
            amount_paid=Decimal("0.00") if n % 3 else Decimal("10.00"),
        )
        for n in range(count)
    )
    ledger.recount_summaries([customer.pk])


def test_detail_page_and_sheet(owner_client, invoice):
    page = owner_client.get(f"/invoices/{invoice.number}/")
    body = page.content.decode()
    assert "<html" in body
    for text in ["Timeline", "k8s-prod", "db-primary", "€170.29", "€42.57", "€212.86", "Pay Now"]:
        assert text in body
    sheet = owner_client.get(f"/invoices/{invoice.number}/", **HTMX).content.decode()
    assert sheet.lstrip().startswith('<div class="invoice-panel"')
    assert 'id="sheet-title"' in sheet and "<html" not in sheet


def test_a_paid_invoice_offers_no_pay_now(owner_client, invoice):
    services.record_bank_payment(
        invoice=invoice,
        amount=invoice.total,
        received_at=datetime.datetime.combine(invoice.issue_date, NOON),
    )
    body = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert "Pay Now" not in body
    assert "Paid</span>" in body


def test_the_pay_dialog_gives_the_rundown_and_bank_details(owner_client, invoice, settings):
    body = owner_client.get(f"/invoices/{invoice.number}/pay/", **HTMX).content.decode()
    assert "Rundown of dues" in body
    assert settings.SELLER["iban"] in body
    assert invoice.number in body and "€212.86" in body


def test_drafts_are_invisible_to_customers(owner_client, customer):
    draft = services.create_draft(customer=customer)
    Invoice.objects.filter(pk=draft.pk).update(number="INV-2026-9999")  # even with a number
    assert owner_client.get("/invoices/INV-2026-9999/").status_code == 404


CROSS_CUSTOMER_URLS = [
    "/invoices/{n}/",
    "/invoices/{n}/pdf/",
    "/invoices/{n}/pdf/?download=1",
    "/invoices/{n}/pay/",
    "/invoices/zip/?number={n}",
]


@pytest.mark.parametrize("url", CROSS_CUSTOMER_URLS)
def test_another_customers_invoice_does_not_exist(client, outsider, invoice, url):
    client.force_login(outsider)
    assert client.get(url.format(n=invoice.number)).status_code == 404


@pytest.mark.parametrize("url", CROSS_CUSTOMER_URLS)
def test_anonymous_visitors_log_in_first(client, invoice, url):
    response = client.get(url.format(n=invoice.number))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_one_foreign_number_in_a_zip_request_refuses_the_whole_zip(owner_client, invoice, outsider):
    foreign = issued_invoice(outsider.memberships.get().customer, LINES)
    url = f"/invoices/zip/?number={invoice.number}&number={foreign.number}"
    assert owner_client.get(url).status_code == 404


def test_zip_of_three_holds_three_named_pdfs(owner_client, customer, make_invoice):
    chosen = [make_invoice(amount) for amount in ("10.00", "20.00", "30.00")]
    make_invoice("40.00")  # not selected
    query = "&".join(f"number={invoice.number}" for invoice in chosen)
    response = owner_client.get(f"/invoices/zip/?{query}&number={chosen[0].number}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"{i.number}.pdf" for i in chosen)
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


def test_an_empty_zip_request_explains(owner_client):
    response = owner_client.get("/invoices/zip/", follow=True)
    assert "Select at least one invoice to download." in response.content.decode()


def test_too_many_invoices_for_one_zip_are_refused(owner_client):
    query = "&".join(f"number=INV-2026-{n:04d}" for n in range(1, 102))
    response = owner_client.get(f"/invoices/zip/?{query}", follow=True)
    assert "Select at most 100 invoices" in response.content.decode()


def test_dashboard_shows_cards_latest_and_due_next(owner_client, history):
    response = owner_client.get(reverse("dashboard"))
    assert response.context["stats"].outstanding == {"EUR": Decimal("810.00")}
    assert [i.number for i in response.context["latest"]] == numbers_on(
        owner_client.get("/invoices/")
    )[:5]
    # Due next: the open invoice with the earliest due date, the overdue 500 less its credit.
    assert response.context["next_due"].number == history["overdue_500"].number
    assert "€450.00" in response.content.decode()
