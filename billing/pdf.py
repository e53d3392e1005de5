"""Invoice HTML to PDF with WeasyPrint.

WeasyPrint is imported only here, when a PDF is made: a machine without its system libraries
(Pango) still serves every page, and a PDF request says what to install.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from billing.models import Invoice
from billing.selectors import invoice_balance, invoice_line_groups

MISSING_LIBRARIES = (
    "PDFs cannot be made on this server: WeasyPrint needs the Pango library. "
    "On Debian or Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
)


class PdfUnavailable(Exception):
    """WeasyPrint or its system libraries are missing."""


class PdfRenderError(Exception):
    """Rendering failed; worth retrying."""


def invoice_html(invoice: Invoice) -> str:
    """The invoice as HTML in its language (labels, dates, amounts): the customer's
    `invoice_language` when it was issued."""
    with translation.override(invoice.language):
        return render_to_string(
            "billing/invoice_pdf.html",
            {
                "invoice": invoice,
                "customer": invoice.customer,
                "groups": invoice_line_groups(invoice),
                "balance": invoice_balance(invoice),
                "credit_notes": list(invoice.credit_notes.issued().order_by("issue_date", "pk")),
                "seller": settings.SELLER,
            },
        )


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(MISSING_LIBRARIES) from exc
    # Everything the invoice needs is inline; nothing may be fetched from the network or disk.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    try:
        return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; all mean "no PDF this time"
        raise PdfRenderError(f"WeasyPrint could not render the invoice: {exc}") from exc


def render_invoice_pdf(invoice: Invoice) -> bytes:
    return html_to_pdf(invoice_html(invoice))


def render_receipt_pdf(customer, payments: list) -> bytes:
    """The receipt for one payment (a card payment's every invoice, or one bank transfer), in
    the customer's invoice language, rendered when asked for: it never changes, as payments
    never do."""
    with translation.override(customer.billing_profile.invoice_language):
        html = render_to_string(
            "billing/receipt_pdf.html",
            {
                "customer": customer,
                "payments": payments,
                "first": payments[0],
                "total": sum(p.amount for p in payments),
                "seller": settings.SELLER,
            },
        )
    return html_to_pdf(html)
