"""The background jobs billing's workflows ask for, by name (see accounts/jobs.py)."""

from accounts.jobs import after_commit, send_once

__all__ = ["after_commit", "send_once"]

RENDER_PDF = "billing.tasks.render_invoice_pdf"
SEND_INVOICE_EMAIL = "billing.tasks.send_invoice_email"
SEND_OVERDUE_REMINDER = "billing.tasks.send_overdue_reminder"
SEND_PAYMENT_RECEIPT = "billing.tasks.send_payment_receipt"
