"""The customer's invoice pages. HTTP only: parse, call a selector or service, render.

Pages and their HTMX fragments come from the same views: with HTMX the table, the detail
sheet or the payment dialog is rendered alone (a `{% partialdef %}` of the page template).
"""

import io
import zipfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.access import customer_required
from billing import payments, selectors, services, stripe_gateway
from billing.models import Invoice
from billing.money import ZERO
from billing.pdf import PdfRenderError, PdfUnavailable
from billing.services import utc_today
from billing.tasks import render_invoice_pdf

PAGE_SIZE = 25
MAX_ZIP_INVOICES = 100


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: the browser GETs the Checkout page, whatever method brought it here."""

    status_code = 303


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
    stats = selectors.invoice_stats(request.customer)
    paginator = Paginator(invoices, PAGE_SIZE)
    if not search:
        # The stats query counted this tab already; spare the paginator its own COUNT(*).
        paginator.count = stats.tab_counts[status]
    page = paginator.get_page(request.GET.get("page"))
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
    """The invoice; after Stripe Checkout (`?checkout=`) also whether its payment is still
    being confirmed. Polled by its status fragment until the webhook has settled it."""
    invoice = selectors.invoice_for(request.customer, number)
    returned = request.GET.get("checkout")
    if not request.htmx:
        if returned == "cancelled":
            messages.info(request, "Payment cancelled. Nothing was charged.")
        elif returned == "success":
            messages.success(request, "Thank you. We are confirming your payment with Stripe.")
    processing = payments.payment_in_progress(invoice, returned_from_checkout=returned == "success")
    context = {"invoice": invoice, "processing": processing}
    if request.htmx and request.htmx.target == "invoice-status":
        if not processing:
            if invoice.status == Invoice.Status.PAID:
                messages.success(request, f"Payment received: {invoice.number} is paid. Thank you!")
            else:
                messages.error(request, "The payment did not go through. Nothing was charged.")
        response = render(request, "billing/invoice_detail.html#invoice-status", context)
        if not processing:
            trigger_client_event(response, "invoice-settled")  # the panel reloads itself
        return response
    period = ""
    if invoice.period_start and invoice.period_end:
        period = f"Period {date_format(invoice.period_start)} – {date_format(invoice.period_end)}"
    context |= {
        "period": period,
        "groups": selectors.invoice_line_groups(invoice),
        "events": invoice.events.all(),
        "credit_notes": invoice.credit_notes.issued(),
    }
    template = _fragment(request, "billing/invoice_detail.html", "invoice-sheet")
    return render(request, template, context)


def _render_pay(request, invoices):
    single = invoices[0] if len(invoices) == 1 else None
    context = {
        "invoice": single,
        "invoices": invoices,
        "groups": selectors.invoice_line_groups(single) if single else [],
        "total": sum((invoice.outstanding for invoice in invoices), ZERO),
        "payable": all(invoice.is_open for invoice in invoices),
        "online": stripe_gateway.is_configured(),
        "seller": settings.SELLER,
    }
    template = _fragment(request, "billing/invoice_pay.html", "pay-dialog")
    return render(request, template, context)


def _start_payment(request, invoices, *, back: str):
    """POST: open Stripe Checkout for `invoices` and send the browser there (303)."""
    if not request.membership.can_manage_billing:
        raise PermissionDenied("Your role on this account can read, not pay, invoices.")
    try:
        checkout = payments.start_checkout(
            customer=request.customer,
            invoices=invoices,
            user=request.user,
            success_url=request.build_absolute_uri(f"{back}?checkout=success"),
            cancel_url=request.build_absolute_uri(f"{back}?checkout=cancelled"),
        )
    except payments.PaymentRefused as exc:
        messages.error(request, str(exc))
    except stripe_gateway.StripeUnavailable:
        messages.error(
            request,
            "Online payment is not available right now. "
            "Pay by bank transfer with the details on the invoice, or try again later.",
        )
    else:
        return HttpResponseSeeOther(checkout.url)
    return redirect(back)


@require_http_methods(["GET", "POST"])
@customer_required
@vary_on_headers("HX-Request")
def invoice_pay(request, number):
    """GET: the rundown of dues and how to pay. POST: pay online with Stripe Checkout."""
    invoice = selectors.invoice_for(request.customer, number)
    if request.method == "POST":
        return _start_payment(request, [invoice], back=reverse("invoice_detail", args=[number]))
    return _render_pay(request, [invoice])


@require_http_methods(["GET", "POST"])
@customer_required
@vary_on_headers("HX-Request")
def pay_selected(request):
    """Several unpaid invoices in one payment, chosen with the checkboxes on the list."""
    source = request.POST if request.method == "POST" else request.GET
    numbers = _selected_numbers(source)
    invoices = list(selectors.invoices_for(request.customer).filter(number__in=numbers))
    if len(invoices) != len(numbers):
        raise Http404("Some of these invoices do not exist.")
    if not invoices:
        messages.error(request, "Select at least one unpaid invoice to pay.")
        return redirect("invoice_list")
    invoices.sort(key=lambda invoice: (invoice.issue_date, invoice.pk))
    if request.method == "POST":
        return _start_payment(request, invoices, back=reverse("invoice_list"))
    return _render_pay(request, invoices)


def _selected_numbers(source) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in source.getlist("number") if n.strip()))


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
    numbers = _selected_numbers(request.GET)
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
