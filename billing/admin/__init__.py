"""The staff's tools for billing, registered with the admin site: invoices.py (invoices and
their workflows), payments.py (Checkout sessions, Stripe events, customer credit), runs.py
(customers' months the monthly run could not invoice), profiles.py (how each customer is
billed, on its Customer page), autopay.py (automatic payments and their dunning, saved
payment methods)."""

from billing.admin import autopay, invoices, payments, profiles, runs

__all__ = ["autopay", "invoices", "payments", "profiles", "runs"]
