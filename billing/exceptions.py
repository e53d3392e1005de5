"""Billing's refusals: every workflow that will not do what it was asked raises one of these,
with a message staff or the customer can read. Views turn BillingError into a message on the
page; monthly invoicing records WaitsForStaff on the month for staff (billing/invoicing.py).

Nothing here imports a model: the models raise these, so this module stays below them."""


class BillingError(Exception):
    """A workflow refused for a reason staff or the customer should read."""


class InvalidTransition(BillingError):
    """A status change the invoice's lifecycle does not allow."""


class ImmutableInvoice(Exception):
    """An attempt to change the lines or amounts of a finalized invoice (a programming error,
    not a refusal to show: finalized invoices are corrected by credit notes)."""


class OutOfRange(BillingError):
    """A figure too large for the column that keeps it: refused before the database is asked,
    so that SQLite (which would store it) and PostgreSQL (which would raise) agree."""


class PaymentRefused(BillingError):
    """Nothing to pay, or not payable online: the message says why."""


class MethodRefused(BillingError):
    """A payment method that cannot be saved for this customer: the message says why."""


class NotInvoiceable(BillingError):
    """A month or customer that monthly invoicing refuses, with the reason."""


class WaitsForStaff(NotInvoiceable):
    """A month that cannot be invoiced until staff put something right; each kind is recorded
    with its UninvoicedMonth.Reason (billing/invoicing.py)."""


class MissingPrice(WaitsForStaff):
    """Usage of a metric that the month's plan has no price for."""


class NoPlanInCurrency(WaitsForStaff):
    """The month's plan is in another currency than the one the customer is billed in."""


class UsageHeld(WaitsForStaff):
    """Records of the month the aggregation held back (usage.models.HeldRecord): the month's
    usage is not all counted, so its invoice would bill too little."""
