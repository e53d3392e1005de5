"""Invoice display helpers for templates: {% load billing_tags %}."""

import datetime
from urllib.parse import urlencode

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing import selectors, vat
from core.dates import last_of_month
from usage import charts

register = template.Library()

# The badge a customer sees for each display status: never colour alone, always a word.
BADGES = {
    "paid": ("badge-paid", "check-circle", _("Paid")),
    "unpaid": ("badge-unpaid", "clock", _("Unpaid")),
    "overdue": ("badge-overdue", "alert", _("Overdue")),
    "credited": ("badge-neutral", "check", _("Credited")),
    "no_charge": ("badge-neutral", "check", _("No charge")),
    "void": ("badge-void", "minus-circle", _("Void")),
    "draft": ("badge-draft", "minus-circle", _("Draft")),
}


@register.inclusion_tag("billing/partials/status_badge.html")
def status_badge(invoice) -> dict:
    css, icon_name, label = BADGES[invoice.display_status]
    return {"css": css, "icon_name": icon_name, "label": label}


@register.simple_tag
def billing_status_panel(customer, *, hidden_without_invoices=False) -> str:
    """The Usage page's Billing Status panel, rendered: the customer's invoices by status as a
    pie and its table (billing.selectors.billing_status); nothing when there are none and
    `hidden_without_invoices`."""
    status = selectors.billing_status(customer)
    slices = charts.pie(
        [
            (share.status, BADGES[share.status][2], share.count, share.amount)
            for share in status.shares
        ]
    )
    if hidden_without_invoices and not slices:
        return ""
    context = {"slices": slices, "credit_notes": status.credit_notes}
    return render_to_string("billing/partials/billing_status.html", context)


@register.simple_tag
def projection_vat_card(customer, outlook) -> str:
    """The Usage page's card beside the projected month-end bill (usage.selectors.MonthOutlook,
    before VAT): the VAT the month's invoice would add and the total with it, at the rate in
    force on the month's last day (billing/vat.py, as the invoice will be taxed)."""
    on = last_of_month(outlook.month)
    estimate = vat.vat_estimate(customer, outlook.projected, outlook.currency, on=on)
    return render_to_string("billing/partials/projection_vat.html", {"estimate": estimate})


@register.simple_tag
def usage_url(month: datetime.date, service: str) -> str:
    """The Usage page for one month and service: the usage an invoice line bills."""
    return f"{reverse('usage')}?{urlencode({'month': f'{month:%Y-%m}', 'service': service})}"
