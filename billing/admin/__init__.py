"""The staff's tools for billing, registered with the admin site: invoices.py (invoices and
their workflows), payments.py (Checkout sessions, Stripe events, customer credit), runs.py
(customers' months the monthly run could not invoice)."""

from billing.admin import invoices, payments, runs

__all__ = ["invoices", "payments", "runs"]
