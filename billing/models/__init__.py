"""The billing tables, one module per family:

- invoices.py   Invoice (lifecycle, amounts), InvoiceSequence
- lines.py      InvoiceLine (what an invoice bills: service, metric, month)
- choices.py    VatTreatment, CreditReason (the fixed lists an invoice chooses from)
- sizes.py      MONEY, LINE_QUANTITY and check_fits (how large a figure may be)
- events.py     InvoiceEvent (the timeline and audit trail)
- checkouts.py  CheckoutSession, CheckoutItem (paying on Stripe's page), StripeEvent (webhooks)
- payments.py   Payment (money in and out of an invoice), CreditEntry (the customer's credit)
- runs.py       UninvoicedMonth (what the monthly invoicing run could not invoice, and why),
                BilledLateUsage (late usage and the invoice line that bills it)
- profiles.py   BillingProfile (a customer's currency, terms, Stripe customer, delivery, language,
                auto-pay)
- summary.py    InvoiceSummary (per customer: the cards' and tabs' figures, kept by the ledger)
- autopay.py    PaymentMethod (saved at Stripe), ChargeAttempt (automatic charges and dunning)
"""

from billing.models.autopay import ChargeAttempt, PaymentMethod
from billing.models.checkouts import CheckoutItem, CheckoutSession, StripeEvent
from billing.models.choices import CreditReason, VatTreatment
from billing.models.events import InvoiceEvent, money_params
from billing.models.invoices import (
    CREDIT_SERVICE,
    CREDIT_UNIT,
    Invoice,
    InvoiceSequence,
    customer_details,
    invoice_pdf_path,
)
from billing.models.lines import InvoiceLine
from billing.models.payments import CreditEntry, Payment
from billing.models.profiles import BillingProfile
from billing.models.runs import BilledLateUsage, UninvoicedMonth
from billing.models.sizes import check_fits
from billing.models.summary import InvoiceSummary

__all__ = [
    "BilledLateUsage",
    "CREDIT_SERVICE",
    "CREDIT_UNIT",
    "BillingProfile",
    "ChargeAttempt",
    "CheckoutItem",
    "CheckoutSession",
    "CreditEntry",
    "CreditReason",
    "Invoice",
    "InvoiceEvent",
    "InvoiceLine",
    "InvoiceSequence",
    "InvoiceSummary",
    "Payment",
    "PaymentMethod",
    "StripeEvent",
    "VatTreatment",
    "UninvoicedMonth",
    "money_params",
    "check_fits",
    "customer_details",
    "invoice_pdf_path",  # named by migration 0001
]
