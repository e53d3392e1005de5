"""The billing tables, one module per family:

- invoices.py   Invoice (lifecycle, amounts), InvoiceLine, InvoiceSequence
- events.py     InvoiceEvent (the timeline and audit trail)
- checkouts.py  CheckoutSession, CheckoutItem (paying on Stripe's page), StripeEvent (webhooks)
- payments.py   Payment (money in and out of an invoice), CreditEntry (the customer's credit)
- runs.py       UninvoicedMonth (what the monthly invoicing run could not invoice, and why)
- summary.py    InvoiceSummary (per customer: the cards' and tabs' figures, kept by the ledger)
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
from billing.models.runs import UninvoicedMonth
from billing.models.summary import InvoiceSummary

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
    "InvoiceSummary",
    "OutOfRange",
    "Payment",
    "StripeEvent",
    "VatTreatment",
    "UninvoicedMonth",
    "check_fits",
    "customer_details",
    "invoice_pdf_path",  # named by migration 0001
]
