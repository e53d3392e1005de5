"""Invoice PDFs: what they say, how long ones paginate, and how they are stored and served."""

import datetime
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

from billing import delivery, pdf, services, tasks
from billing.models import Invoice
from tests.billing.conftest import LINES, pdf_text, pdftotext_layout
from tests.factories import issued_invoice


def test_the_pdf_holds_the_number_every_line_and_the_total(invoice, customer, settings):
    pages = pdf_text(pdf.render_invoice_pdf(invoice))
    text = "\n".join(pages)
    assert invoice.number in text
    for _, description, *_ in LINES:
        assert description in text
    for figure in ["€212.86", "€170.29", "€42.57", "VAT 25%"]:
        assert figure in text
    assert customer.name in text and customer.vat_id in text
    assert settings.SELLER["name"] in text and settings.SELLER["iban"] in text
    assert "Page 1 of 1" in text
    assert "Due date" in text and "1 Oct 2026" in text


def test_pdftotext_reads_it_too(invoice, tmp_path):
    text = pdftotext_layout(pdf.render_invoice_pdf(invoice), tmp_path)
    assert invoice.number in text and "212.86" in text


def test_a_300_line_invoice_paginates_with_a_repeated_header(customer):
    lines = [
        (f"cluster-{n % 10}", f"Instance hours for vm-{n:03d}", "730", "h", "0.010000")
        for n in range(300)
    ]
    invoice = issued_invoice(customer, lines, vat_rate=Decimal("0.00"))
    pages = pdf_text(pdf.render_invoice_pdf(invoice))
    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        if "Instance hours" in text:  # every page of the table repeats its header
            assert "DESCRIPTION" in text.upper() and "UNIT PRICE" in text.upper()
    everything = "\n".join(pages)
    assert all(f"Instance hours for vm-{n:03d}" in everything for n in range(300))
    assert "€2,190.00" in everything  # 300 × 730 h × €0.01


def test_paid_invoices_carry_a_stamp_and_credit_notes_say_what_they_are(invoice):
    services.record_bank_payment(
        invoice=invoice,
        amount=invoice.total,
        received_at=datetime.datetime(2026, 10, 7, 12, tzinfo=datetime.UTC),
    )
    invoice.refresh_from_db()
    assert "PAID" in "".join(pdf_text(pdf.render_invoice_pdf(invoice)))

    note = services.issue_credit_note(invoice=invoice, reason="SLA credit", net_amount=Decimal(8))
    text = "".join(pdf_text(pdf.render_invoice_pdf(note)))
    assert "Credit note" in text and invoice.number in text and "SLA credit" in text
    assert "−€10.00" in text


def test_finalizing_renders_and_stores_the_pdf(
    customer, billing_contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer, LINES, deliver=True)
    invoice.refresh_from_db()
    assert (
        invoice.pdf.name == f"invoices/{customer.number}/{invoice.number}-r{invoice.revision}.pdf"
    )
    assert invoice.pdf.read().startswith(b"%PDF")
    assert invoice.events.filter(kind="pdf_rendered").count() == 1


def test_download_serves_the_stored_pdf_without_rendering(owner_client, invoice, monkeypatch):
    delivery.store_invoice_pdf(invoice=invoice)

    def no_rendering(_invoice):
        raise AssertionError("an already rendered PDF must not be rendered again")

    monkeypatch.setattr(delivery, "render_invoice_pdf", no_rendering)
    inline = owner_client.get(f"/invoices/{invoice.number}/pdf/")
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'
    download = owner_client.get(f"/invoices/{invoice.number}/pdf/?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_missing_stored_file_is_rendered_again(owner_client, invoice):
    stored = delivery.store_invoice_pdf(invoice=invoice)
    stored.pdf.storage.delete(stored.pdf.name)
    response = owner_client.get(f"/invoices/{invoice.number}/pdf/")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert invoice.events.filter(kind="pdf_rendered").count() == 2


def test_without_weasyprints_libraries_the_page_says_what_to_install(
    owner_client, invoice, monkeypatch
):
    def missing(_html):
        raise pdf.PdfUnavailable(pdf.MISSING_LIBRARIES)

    monkeypatch.setattr(pdf, "html_to_pdf", missing)
    response = owner_client.get(f"/invoices/{invoice.number}/pdf/")
    assert response.status_code == 503
    assert "apt-get install libpango-1.0-0" in response.content.decode()
    # Every other page still works.
    assert owner_client.get(f"/invoices/{invoice.number}/").status_code == 200


def test_a_failing_render_answers_503_with_tasks_in_process_and_a_retry_succeeds(
    owner_client, invoice, monkeypatch
):
    # Tests run tasks in-process (tests/conftest.py), as the portal does without REDIS_URL:
    # nothing may raise out of the view.

    def broken(_html):
        raise pdf.PdfRenderError("WeasyPrint could not render the invoice: boom")

    with monkeypatch.context() as patched:
        patched.setattr(pdf, "html_to_pdf", broken)
        response = owner_client.get(f"/invoices/{invoice.number}/pdf/")
    assert response.status_code == 503
    assert "Please try again in a minute" in response.content.decode()
    assert not Invoice.objects.get(pk=invoice.pk).pdf

    again = owner_client.get(f"/invoices/{invoice.number}/pdf/")
    assert again.status_code == 200
    assert b"".join(again.streaming_content).startswith(b"%PDF")


def test_the_render_task_retries_with_backoff(invoice):
    assert tasks.render_invoice_pdf.autoretry_for == (pdf.PdfRenderError,)
    assert tasks.render_invoice_pdf.retry_backoff == 30
    assert tasks.render_invoice_pdf.max_retries == 6


def test_the_renderer_reads_no_file_and_calls_no_server(tmp_path):
    """Invoice HTML carries customer-supplied text: the renderer must not be a way to read the
    server's files or reach its network. Unrestricted, the stylesheet below would print its
    secret on the page and the server would count requests."""
    stylesheet = tmp_path / "leak.css"
    stylesheet.write_text('p::after { content: " LEAKED-FROM-DISK"; }')
    requests = []

    class Counting(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b'p::before { content: "LEAKED-FROM-NETWORK "; }')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    html = (
        f'<link rel="stylesheet" href="file://{stylesheet}">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">'
        f'<img src="http://127.0.0.1:{port}/logo.png"><p>Hi</p>'
    )
    try:
        text = "".join(pdf_text(pdf.html_to_pdf(html)))
    finally:
        server.shutdown()
        server.server_close()
    assert "Hi" in text
    assert "LEAKED" not in text
    assert requests == []
