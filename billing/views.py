"""The customer's invoice pages. HTTP only: parse, call a selector or service, render.

Pages and their HTMX fragments come from the same views: with HTMX the table, the detail
sheet or the payment dialog is rendered alone (a `{% partialdef %}` of the page template).
"""

import io
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.access import customer_required
from billing import checkout, delivery, payment_selectors, selectors, stripe_gateway, webhooks
from billing.exceptions import PaymentRefused
from billing.models import Invoice
from billing.payment_selectors import PaymentOutcome
from billing.pdf import PdfRenderError, PdfUnavailable, render_invoice_pdf
from billing.services import utc_today
from core.money import ZERO
from core.rendering import render_page

log = logging.getLogger(__name__)

PAGE_SIZE = 25
MAX_ZIP_INVOICES = 100


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: the browser GETs the Checkout page, whatever method brought it here."""

    status_code = 303


def _get_invoice(request, number: str) -> tuple[Invoice, bool]:
    """The request customer's invoice (404 for anyone else's), and whether this member may pay
    it: owners and billing members pay, viewers read."""
    invoice = selectors.invoice_for(request.customer, number)
    return invoice, request.membership.can_manage_billing


def _get_invoices(request, numbers: list[str]) -> tuple[list[Invoice], bool]:
    """The same for several invoices: 404 if any of them is not the customer's."""
    invoices = selectors.invoices_numbered(request.customer, numbers)
    return invoices, request.membership.can_manage_billing


@require_GET
@customer_required
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
    return render_page(request, "billing/invoice_list.html", context, fragment="invoice-results")


# What the customer reads once the webhook has decided a payment they made on Stripe's page.
OUTCOME_MESSAGES = {
    PaymentOutcome.PAID: (
        messages.SUCCESS,
        gettext_lazy("Payment received: %(number)s is paid. Thank you!"),
    ),
    PaymentOutcome.NEEDS_REVIEW: (
        messages.INFO,
        gettext_lazy(
            "Your payment was received and our billing team is checking it. "
            "We will be in touch if anything is needed."
        ),
    ),
    PaymentOutcome.FAILED: (
        messages.ERROR,
        gettext_lazy("The payment did not go through. Nothing was charged."),
    ),
}


@require_GET
@customer_required
@vary_on_headers("HX-Request", "HX-Target")
def invoice_detail(request, number):
    """The invoice; after Stripe Checkout (`?checkout=`) also whether its payment is still
    being confirmed. Polled by its status fragment until the webhook has decided it."""
    invoice, can_pay = _get_invoice(request, number)
    returned = request.GET.get("checkout")
    if not request.htmx:
        if returned == "cancelled":
            messages.info(request, gettext("Payment cancelled. Nothing was charged."))
        elif returned == "success":
            messages.success(
                request, gettext("Thank you. We are confirming your payment with Stripe.")
            )
    outcome = payment_selectors.payment_outcome(
        invoice, returned_from_checkout=returned == "success"
    )
    processing = outcome == PaymentOutcome.PROCESSING
    context = {"invoice": invoice, "can_pay": can_pay, "processing": processing, "outcome": outcome}
    if request.htmx and request.htmx.target == "invoice-status":
        response = render(request, "billing/invoice_detail.html#invoice-status", context)
        if not processing:
            level, text = OUTCOME_MESSAGES[outcome or PaymentOutcome.FAILED]
            messages.add_message(request, level, str(text) % {"number": invoice.number})
            trigger_client_event(response, "invoice-settled")  # the panel reloads itself
        return response
    context |= {
        "balance": selectors.invoice_balance(invoice),
        "groups": selectors.invoice_line_groups(invoice),
        "events": invoice.events.all(),
        "credit_notes": invoice.credit_notes.issued(),
        "seller": settings.SELLER,
    }
    return render_page(request, "billing/invoice_detail.html", context, fragment="invoice-sheet")


def _render_pay(request, invoices, *, can_pay: bool):
    single = invoices[0] if len(invoices) == 1 else None
    currencies = payment_selectors.currencies_of(invoices)
    currency = currencies[0]
    context = {
        "can_pay": can_pay,
        "invoice": single,
        "invoices": invoices,
        "groups": selectors.invoice_line_groups(single) if single else [],
        "balance": selectors.invoice_balance(single) if single else None,
        # One currency's sum only: a mixed selection is refused (mixed_currencies).
        "total": sum((i.outstanding for i in invoices), ZERO) if len(currencies) == 1 else None,
        "currency": currency,
        "mixed_currencies": (
            checkout.mixed_currencies_reason(currencies) if len(currencies) > 1 else ""
        ),
        "payable": payment_selectors.payable(invoices) and len(currencies) == 1,
        "credit": selectors.credit_balance(request.customer, currency),
        "online": stripe_gateway.is_configured(),
        "demo": stripe_gateway.is_demo(),
        "seller": settings.SELLER,
    }
    return render_page(request, "billing/invoice_pay.html", context, fragment="pay-dialog")


def _start_payment(request, invoices, *, can_pay: bool, back: str):
    """POST: open Stripe Checkout for `invoices` and send the browser there (303)."""
    if not can_pay:
        raise PermissionDenied(gettext("Your role on this account can read, not pay, invoices."))
    try:
        session = checkout.start_checkout(
            customer=request.customer,
            invoices=invoices,
            user=request.user,
            success_url=request.build_absolute_uri(f"{back}?checkout=success"),
            cancel_url=request.build_absolute_uri(f"{back}?checkout=cancelled"),
        )
    except PaymentRefused as exc:
        messages.error(request, str(exc))
    except stripe_gateway.StripeUnavailable:
        messages.error(
            request,
            gettext(
                "Online payment is not available right now. "
                "Pay by bank transfer with the details on the invoice, or try again later."
            ),
        )
    else:
        return HttpResponseSeeOther(session.url)
    return redirect(back)


@require_http_methods(["GET", "POST"])
@customer_required
def invoice_pay(request, number):
    """GET: the rundown of dues and how to pay. POST: pay online with Stripe Checkout."""
    invoice, can_pay = _get_invoice(request, number)
    if request.method == "POST":
        back = reverse("invoice_detail", args=[number])
        return _start_payment(request, [invoice], can_pay=can_pay, back=back)
    return _render_pay(request, [invoice], can_pay=can_pay)


@require_http_methods(["GET", "POST"])
@customer_required
def pay_selected(request):
    """Several unpaid invoices in one payment, chosen with the checkboxes on the list."""
    source = request.POST if request.method == "POST" else request.GET
    numbers = _selected_numbers(source)
    if not numbers:
        messages.error(request, gettext("Select at least one unpaid invoice to pay."))
        return redirect("invoice_list")
    invoices, can_pay = _get_invoices(request, numbers)
    if request.method == "POST":
        return _start_payment(request, invoices, can_pay=can_pay, back=reverse("invoice_list"))
    return _render_pay(request, invoices, can_pay=can_pay)


def _selected_numbers(source) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in source.getlist("number") if n.strip()))


def pdf_problem(request, invoice, exc: Exception):
    # A failed render is worth another try: the next download, or the periodic sweep, renders
    # it again. Nothing is queued from here (in-process tasks would raise into this response).
    context = {
        "invoice": invoice,
        "problem": str(exc),
        "retryable": isinstance(exc, PdfRenderError),
    }
    return render(request, "billing/pdf_unavailable.html", context, status=503)


def pdf_response(request, invoice):
    """The stored PDF of the invoice as it is now, inline or (`?download=1`) as an
    attachment; rendered first if missing or stale. A draft (staff preview) is rendered and
    never stored."""
    filename = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    as_attachment = request.GET.get("download") == "1"
    try:
        if invoice.status == Invoice.Status.DRAFT:
            data = io.BytesIO(render_invoice_pdf(invoice))
            return FileResponse(data, as_attachment=as_attachment, filename=filename)
        invoice = delivery.store_invoice_pdf(invoice=invoice)
        pdf = invoice.pdf.open("rb")
    except (PdfUnavailable, PdfRenderError) as exc:
        return pdf_problem(request, invoice, exc)
    return FileResponse(
        pdf, content_type="application/pdf", as_attachment=as_attachment, filename=filename
    )


@require_GET
@customer_required
def invoice_pdf(request, number):
    invoice, _can_pay = _get_invoice(request, number)
    return pdf_response(request, invoice)


@require_GET
@customer_required
def invoice_zip(request):
    """The selected invoices' PDFs in one ZIP, streamed from a temporary file; or, when some
    PDFs are still being rendered, a page that asks to try again in a minute (202). One number
    that is not the customer's: 404."""
    numbers = _selected_numbers(request.GET)
    if not numbers:
        messages.error(request, gettext("Select at least one invoice to download."))
        return redirect("invoice_list")
    if len(numbers) > MAX_ZIP_INVOICES:
        messages.error(
            request,
            gettext("Select at most %(count)s invoices for one download.")
            % {"count": MAX_ZIP_INVOICES},
        )
        return redirect("invoice_list")
    invoices, _can_pay = _get_invoices(request, numbers)
    try:
        archive = delivery.zip_invoice_pdfs(invoices=invoices)
    except PdfUnavailable as exc:
        return pdf_problem(request, None, exc)
    if archive.preparing:
        context = {"preparing": archive.preparing, "retry_url": request.get_full_path()}
        response = render_page(
            request, "billing/zip_preparing.html", context, fragment="zip-preparing", status=202
        )
        response["Retry-After"] = "60"
        return response
    filename = f"invoices-{request.customer.number}-{utc_today():%Y-%m-%d}.zip"
    return FileResponse(
        archive.file, content_type="application/zip", as_attachment=True, filename=filename
    )


def receive_webhook(payload: bytes, signature: str) -> JsonResponse:
    """A webhook, from Stripe or the demo checkout: verify the signature, record the event
    once, act on it."""
    try:
        event = stripe_gateway.verify_webhook(payload, signature)
    except stripe_gateway.InvalidWebhook as exc:
        log.warning("Refused a Stripe webhook: %s", exc)
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        outcome = webhooks.handle_stripe_event(event)
    except stripe_gateway.StripeUnavailable as exc:
        # A saved method's details come from Stripe: nothing is stored, Stripe sends it again.
        log.warning("Stripe event %s left for its redelivery: %s", event["id"], exc)
        return JsonResponse({"error": str(exc)}, status=503)
    log.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return JsonResponse({"received": event["id"], "outcome": outcome})


@csrf_exempt  # Stripe cannot send our CSRF token; the signature proves the sender instead
@require_POST
def stripe_webhook(request):
    """Stripe's webhook endpoint."""
    return receive_webhook(request.body, request.headers.get("Stripe-Signature", ""))
