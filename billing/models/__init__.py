"""The billing tables, one module per family:

- invoices.py   Invoice (lifecycle, amounts), InvoiceLine, InvoiceSequence
- events.py     InvoiceEvent (the timeline and audit trail)
- checkouts.py  CheckoutSession, CheckoutItem (paying on Stripe's page), StripeEvent (webhooks)
- payments.py   Payment (money in and out of an invoice), CreditEntry (the customer's credit)
- runs.py       UninvoicedMonth (what the monthly invoicing run could not invoice, and why),
                BilledLateUsage (late usage and the invoice line that bills it)
"""

from billing.models.checkouts import CheckoutItem, CheckoutSession, StripeEvent
from billing.models.events import InvoiceEvent
from billing.models.invoices import (
    BillingError,
    ImmutableInvoice,
    InvalidTransition,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    OutOfRange,
    VatTreatment,
    check_fits,
    customer_details,
    invoice_pdf_path,
)
from billing.models.payments import CreditEntry, Payment
from billing.models.runs import BilledLateUsage, UninvoicedMonth

__all__ = [
    "BilledLateUsage",
    "BillingError",
    "CheckoutItem",
    "CheckoutSession",
    "CreditEntry",
    "ImmutableInvoice",
    "InvalidTransition",
    "Invoice",
    "InvoiceEvent",
    "InvoiceLine",
    "InvoiceSequence",
    "OutOfRange",
    "Payment",
    "StripeEvent",
    "VatTreatment",
    "UninvoicedMonth",
    "check_fits",
    "customer_details",
    "invoice_pdf_path",  # named by migration 0001
]
