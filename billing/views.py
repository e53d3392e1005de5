"""The customer's invoice pages. HTTP only: parse, call a selector or service, render.

Pages and their HTMX fragments come from the same views: with HTMX the table, the detail
sheet or the payment dialog is rendered alone (a `{% partialdef %}` of the page template).
"""

import io
import zipfile

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.access import customer_required
from billing import selectors, services
from billing.pdf import PdfRenderError, PdfUnavailable
from billing.services import utc_today
from billing.tasks import render_invoice_pdf

PAGE_SIZE = 25
MAX_ZIP_INVOICES = 100


def _fragment(request, template: str, partial: str) -> str:
    """The page template, or only its partial for an HTMX swap (not for a history restore,
    which needs the whole page)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


@require_GET
@customer_required
@vary_on_headers("HX-Request")
def invoice_list(request):
    status = request.GET.get("status", "all")
    if status not in selectors.STATUS_FILTERS:
        status = "all"
    search = request.GET.get("q", "").strip()[:40]
    invoices = selectors.invoices_for(request.customer, status=status, search=search)
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    stats = selectors.invoice_stats(request.customer)
    context = {
        "stats": stats,
        "status": status,
        "status_label": selectors.STATUS_FILTERS[status],
        "tabs": [
            (key, label, stats.tab_counts[key]) for key, label in selectors.STATUS_FILTERS.items()
        ],
        "search": search,
        "page": page,
    }
    template = _fragment(request, "billing/invoice_list.html", "invoice-results")
    return render(request, template, context)


@require_GET
@customer_required
@vary_on_headers("HX-Request")
def invoice_detail(request, number):
    invoice = selectors.invoice_for(request.customer, number)
    period = ""
    if invoice.period_start and invoice.period_end:
        period = f"Period {date_format(invoice.period_start)} – {date_format(invoice.period_end)}"
    context = {
        "invoice": invoice,
        "period": period,
        "groups": selectors.invoice_line_groups(invoice),
        "events": invoice.events.all(),
        "credit_notes": invoice.credit_notes.issued(),
    }
    template = _fragment(request, "billing/invoice_detail.html", "invoice-sheet")
    return render(request, template, context)


@require_GET
@customer_required
@vary_on_headers("HX-Request")
def invoice_pay(request, number):
    """The rundown of dues and how to pay them (Stripe Checkout arrives with payments)."""
    invoice = selectors.invoice_for(request.customer, number)
    context = {
        "invoice": invoice,
        "groups": selectors.invoice_line_groups(invoice),
        "seller": settings.SELLER,
    }
    template = _fragment(request, "billing/invoice_pay.html", "pay-dialog")
    return render(request, template, context)


def _pdf_problem(request, invoice, exc: Exception):
    if isinstance(exc, PdfRenderError):
        # A worker retries with backoff; the customer can try again in a minute.
        render_invoice_pdf.delay(invoice.pk)
    context = {
        "invoice": invoice,
        "problem": str(exc),
        "retryable": isinstance(exc, PdfRenderError),
    }
    return render(request, "billing/pdf_unavailable.html", context, status=503)


def pdf_response(request, invoice):
    """The stored PDF, inline or (`?download=1`) as an attachment; rendered if missing."""
    try:
        invoice = services.store_invoice_pdf(invoice=invoice)
    except (PdfUnavailable, PdfRenderError) as exc:
        return _pdf_problem(request, invoice, exc)
    return FileResponse(
        invoice.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=request.GET.get("download") == "1",
        filename=f"{invoice.number}.pdf",
    )


@require_GET
@customer_required
def invoice_pdf(request, number):
    return pdf_response(request, selectors.invoice_for(request.customer, number))


@require_GET
@customer_required
def invoice_zip(request):
    """The selected invoices' PDFs in one ZIP. One number that is not the customer's: 404."""
    numbers = list(dict.fromkeys(n.strip() for n in request.GET.getlist("number") if n.strip()))
    if not numbers:
        messages.error(request, "Select at least one invoice to download.")
        return redirect("invoice_list")
    if len(numbers) > MAX_ZIP_INVOICES:
        messages.error(request, f"Select at most {MAX_ZIP_INVOICES} invoices for one download.")
        return redirect("invoice_list")
    invoices = list(selectors.invoices_for(request.customer).filter(number__in=numbers))
    if len(invoices) != len(numbers):
        raise Http404("Some of these invoices do not exist.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice in invoices:
            try:
                invoice = services.store_invoice_pdf(invoice=invoice)
            except (PdfUnavailable, PdfRenderError) as exc:
                return _pdf_problem(request, invoice, exc)
            with invoice.pdf.open("rb") as pdf:
                archive.writestr(f"{invoice.number}.pdf", pdf.read())
    filename = f"invoices-{request.customer.number}-{utc_today():%Y-%m-%d}.zip"
    return HttpResponse(
        buffer.getvalue(),
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
