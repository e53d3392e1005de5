"""The billing tables, one module per family:

- invoices.py   Invoice (lifecycle, amounts), InvoiceLine, InvoiceSequence
- events.py     InvoiceEvent (the timeline and audit trail)
- checkouts.py  CheckoutSession, CheckoutItem (paying on Stripe's page), StripeEvent (webhooks)
- payments.py   Payment (money in and out of an invoice), CreditEntry (the customer's credit)
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
    VatTreatment,
    customer_details,
    invoice_pdf_path,
)
from billing.models.payments import CreditEntry, Payment

__all__ = [
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
    "Payment",
    "StripeEvent",
    "VatTreatment",
    "customer_details",
    "invoice_pdf_path",  # named by migration 0001
]
