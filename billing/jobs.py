"""The background jobs billing's workflows ask for, by name (enqueued through core/jobs.py;
mail sent once through accounts/jobs.py)."""

from accounts.jobs import Mail, send_once, still_trying
from core.jobs import SWEEP_GRACE, after_commit, queue_each

__all__ = ["SWEEP_GRACE", "Mail", "after_commit", "queue_each", "send_once", "still_trying"]

RENDER_PDF = "billing.tasks.render_invoice_pdf"
SEND_INVOICE_EMAIL = "billing.tasks.send_invoice_email"
SEND_OVERDUE_REMINDER = "billing.tasks.send_overdue_reminder"
SEND_PAYMENT_RECEIPT = "billing.tasks.send_payment_receipt"
CHARGE_ON_ISSUE = "billing.tasks.charge_on_issue"
SEND_CHARGE_FAILED = "billing.tasks.send_charge_failed"
