"""A ZIP of selected invoices: the stored PDFs as they are, streamed from a temporary file in
flat memory; PDFs still missing are rendered within a time budget, or the customer is asked
to come back in a minute while a worker renders them."""

import datetime
import io
import os
import tracemalloc
import zipfile

from django.core.files.base import ContentFile

from billing import delivery
from billing.models import Invoice, InvoiceEvent
from billing.models.invoices import invoice_pdf_path
from tests.htmx import HTMX


def zip_url(invoices) -> str:
    return "/invoices/zip/?" + "&".join(f"number={invoice.number}" for invoice in invoices)


def unzipped(response) -> dict[str, bytes]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return {name: archive.read(name) for name in archive.namelist()}


def stored_bytes(invoice) -> bytes:
    invoice = Invoice.objects.get(pk=invoice.pk)
    with invoice.pdf.open("rb") as pdf:
        return pdf.read()


def private_no_store(response) -> bool:
    return {"private", "no-store"} <= {
        part.strip() for part in response.get("Cache-Control", "").split(",")
    }


def test_a_zip_holds_the_stored_pdfs_byte_for_byte(owner_client, customer, make_invoice):
    chosen = [make_invoice("10.00"), make_invoice("20.00")]
    for invoice in chosen:
        delivery.store_invoice_pdf(invoice=invoice)
    response = owner_client.get(zip_url(chosen))
    assert response.streaming  # sent from the file as it is read, not built in memory
    assert private_no_store(response)
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="invoices-{customer.number}-'
    )
    assert unzipped(response) == {f"{i.number}.pdf": stored_bytes(i) for i in chosen}
    renders = InvoiceEvent.objects.filter(kind=InvoiceEvent.Kind.PDF_RENDERED)
    assert renders.count() == 2  # the stored copies were used, nothing rendered again


def test_when_the_render_budget_runs_out_the_customer_is_asked_to_retry(
    owner_client, make_invoice, settings, django_capture_on_commit_callbacks
):
    stored = make_invoice("10.00")
    delivery.store_invoice_pdf(invoice=stored)
    missing = [make_invoice("20.00"), make_invoice("30.00")]
    url = zip_url([stored, *missing])
    settings.INVOICE_ZIP_RENDER_SECONDS = 0

    with django_capture_on_commit_callbacks() as queued:
        response = owner_client.get(url)
    assert (response.status_code, response["Retry-After"]) == (202, "60")
    assert private_no_store(response)
    page = response.content.decode()
    assert "2 PDFs are still being prepared. Try again in a minute." in page
    assert f"Still being prepared: {missing[0].number}, {missing[1].number}</p>" in page
    assert f'href="{url.replace("&", "&amp;")}"' in page  # Try again: the same ZIP
    assert not Invoice.objects.filter(pk__in=[i.pk for i in missing]).exclude(pdf="").exists()
    assert len(queued) == 2  # one render job for each missing PDF

    fragment = owner_client.get(url, **HTMX).content.decode()
    assert "still being prepared" in fragment and "<html" not in fragment

    for job in queued:  # a worker renders them
        job()
    files = unzipped(owner_client.get(url))
    assert files == {f"{i.number}.pdf": stored_bytes(i) for i in [stored, *missing]}


def test_within_the_budget_missing_pdfs_are_rendered_and_zipped(owner_client, make_invoice):
    missing = [make_invoice("20.00"), make_invoice("30.00")]
    files = unzipped(owner_client.get(zip_url(missing)))
    assert files == {f"{i.number}.pdf": stored_bytes(i) for i in missing}


def test_a_zip_of_a_hundred_invoices_is_built_in_flat_memory(make_invoice, settings):
    size = 200 * 1024  # 100 PDFs of 200 KB: 20 MB that must never be in memory at once
    invoices = [make_invoice() for _ in range(100)]
    for invoice in invoices:
        data = b"%PDF-1.7\n" + os.urandom(size)  # random: the ZIP cannot shrink it
        path = invoice_pdf_path(invoice, f"{invoice.number}-r{invoice.revision}.pdf")
        name = invoice.pdf.storage.save(path, ContentFile(data))
        Invoice.objects.filter(pk=invoice.pk).update(pdf=name, pdf_revision=invoice.revision)
    invoices = list(Invoice.objects.filter(pk__in=[i.pk for i in invoices]))

    tracemalloc.start()
    try:
        archive = delivery.zip_invoice_pdfs(invoices=invoices)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"{peak / 1024 / 1024:.1f} MB"
    with zipfile.ZipFile(archive.file) as zipped:
        assert len(zipped.namelist()) == 100
        assert all(info.file_size == size + 9 for info in zipped.infolist())


def test_each_pdf_in_the_zip_is_dated_as_its_invoice(owner_client, make_invoice):
    chosen = [
        make_invoice("10.00", issue_date=datetime.date(2026, 3, 1)),
        make_invoice("20.00", issue_date=datetime.date(2025, 11, 1)),
    ]
    response = owner_client.get(zip_url(chosen))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {info.filename: info.date_time[:3] for info in archive.infolist()} == {
        f"{chosen[0].number}.pdf": (2026, 3, 1),
        f"{chosen[1].number}.pdf": (2025, 11, 1),
    }
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
