"""The Payments page: every payment and refund, and a receipt PDF for each payment."""

import io

from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import customer_required
from billing import payment_selectors
from billing.pdf import PdfRenderError, PdfUnavailable, render_receipt_pdf
from billing.views import pdf_problem


@require_GET
@customer_required
def payment_list(request):
    context = {"movements": payment_selectors.payments_for(request.customer)}
    return render(request, "billing/payment_list.html", context)


@require_GET
@customer_required
def payment_receipt(request, pk):
    """The receipt PDF, inline or (`?download=1`) as an attachment."""
    payments = payment_selectors.receipt_payments(request.customer, pk)
    try:
        data = render_receipt_pdf(request.customer, payments)
    except (PdfUnavailable, PdfRenderError) as exc:
        return pdf_problem(request, None, exc)
    return FileResponse(
        io.BytesIO(data),
        content_type="application/pdf",
        as_attachment=request.GET.get("download") == "1",
        filename=f"receipt-{request.customer.number}-{pk}.pdf",
    )
