"""The staff's tools for billing, registered with the admin site: invoices.py (invoices and
their workflows), payments.py (Checkout sessions, Stripe events, customer credit)."""

from billing.admin import invoices, payments

__all__ = ["invoices", "payments"]
