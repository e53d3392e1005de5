"""Invoice display helpers for templates: {% load billing_tags %}."""

import datetime
import functools
import html
from urllib.parse import quote, urlencode

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateformat import format as format_date
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, override
from django.utils.translation import gettext_lazy as _

from billing import selectors, vat
from billing.models import Invoice
from core.dates import last_of_month
from core.icons import svg_icon
from core.money import format_money
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


@register.simple_tag
def status_badge(invoice) -> SafeString:
    return _badge(invoice.display_status)


def _badge(display_status: str) -> SafeString:
    css, icon_name, label = BADGES[display_status]
    return format_html('<span class="badge {}">{}{}</span>', css, svg_icon(icon_name), label)


# One row of the Invoices table (billing/invoice_list.html). Written here rather than by the
# template engine: a page draws 25, which took the engine ~180 µs a row and takes this ~30, so
# the page of a customer with 10,000 invoices stays within 1.2x of one with a single invoice
# (docs/scaling.md). The three-dot menu is a popover (Escape and a click outside close it,
# with or without JavaScript); static/js/portal.js moves focus with the arrow keys.
INVOICE_ROW = (
    "\n        <tr data-row-link>"
    '\n          <td class="select-cell"><input type="checkbox" name="number" value="{number}"'
    ' form="invoice-selection" aria-label="{select_label}" data-select-row></td>'
    '\n          <td class="invoice-kind" data-label="{l_type}">{kind}</td>'
    '\n          <td class="invoice-number" data-label="{l_number}"><a class="invoice-link"'
    ' href="{url}" hx-get="{url}" aria-haspopup="dialog">{number}</a></td>'
    '\n          <td class="invoice-status" data-label="{l_status}">{badge}</td>'
    '\n          <td data-label="{l_issued}">{issued}</td>'
    '\n          <td data-label="{l_due}">{due}</td>'
    '\n          <td class="num" data-label="{l_amount}">{amount}</td>'
    '\n          <td class="num" data-label="{l_outstanding}">{outstanding}</td>'
    '\n          <td class="row-actions">'
    '\n            <button type="button" class="icon-button" popovertarget="menu-{number}"'
    ' aria-haspopup="menu">{dots_icon}<span class="visually-hidden">{actions_label}</span></button>'
    '\n            <ul id="menu-{number}" class="menu-list" popover role="menu"'
    ' aria-label="{actions_label}">'
    '\n                <li role="none"><a role="menuitem" href="{url}pdf/" target="_blank"'
    ' rel="noopener">{eye_icon}{l_view}</a></li>'
    '\n                <li role="none"><a role="menuitem" href="{url}pdf/?download=1"'
    ' download="{number}.pdf">{download_icon}{l_download}</a></li>'
    "\n                {pay}"
    "\n            </ul>"
    "\n          </td>"
    "\n        </tr>"
    "\n        "
)
PAY_ITEM = (
    '<li role="none"><a role="menuitem" href="{url}pay/" hx-get="{url}pay/"'
    ' hx-target="#modal-content" hx-push-url="false">{card_icon}{l_pay}</a></li>'
)
# An invoice's sheet is reversed once a table, its number put in per row: INV-2026-0042 needs
# no quoting, and any other text is quoted as reverse() quotes a path.
NUMBER_MARK = "number"
PATH_SAFE = "!$&'()*+,;=/~:@"


@functools.lru_cache(maxsize=4096)
def _short_date(day: datetime.date, language: str) -> str:
    """A table's date, escaped, in `language` (the active one). Remembered: Django's date format
    cost more than the rest of a row, and the dates are few (invoices are issued on a month's
    first day and due a set number of days later) and the same for every customer."""
    with override(language):
        return html.escape(format_date(day, get_format("SHORT_DATE_FORMAT")))


@register.simple_tag
def invoice_rows(invoices) -> SafeString:
    """The rows of the Invoices table, in the active language. Every field is escaped before it
    is put in (html.escape, as Django's escape does: format_html's escaping of two dozen fields
    cost more than the row); the translations are trusted as {% blocktranslate %} trusts them."""
    language = get_language()
    url_before, _mark, url_after = reverse("invoice_detail", args=[NUMBER_MARK]).rpartition(
        NUMBER_MARK
    )
    select_label, actions_label = gettext("Select %(number)s"), gettext("Actions for %(number)s")
    # What every row repeats, escaped once a table.
    shared = {
        "l_type": html.escape(gettext("Type")),
        "l_number": html.escape(gettext("Invoice Number")),
        "l_status": html.escape(gettext("Status")),
        "l_issued": html.escape(gettext("Invoice Date")),
        "l_due": html.escape(gettext("Due Date")),
        "l_amount": html.escape(gettext("Amount")),
        "l_outstanding": html.escape(gettext("Outstanding Amount")),
        "l_view": html.escape(gettext("View PDF")),
        "l_download": html.escape(gettext("Download PDF")),
        "dots_icon": svg_icon("dots"),
        "eye_icon": svg_icon("eye"),
        "download_icon": svg_icon("download"),
    }
    pay = {"l_pay": html.escape(gettext("Pay this invoice")), "card_icon": svg_icon("card")}
    no_due_date = '<span class="muted">—</span>'
    badge = functools.cache(_badge)
    kind_label = functools.cache(lambda kind: html.escape(str(Invoice.Kind(kind).label)))
    rows = []
    for invoice in invoices:
        number = html.escape(invoice.number)
        url = html.escape(url_before + quote(invoice.number, safe=PATH_SAFE) + url_after)
        due = no_due_date if invoice.is_credit_note else _short_date(invoice.due_date, language)
        currency = invoice.currency
        rows.append(
            INVOICE_ROW.format(
                **shared,
                number=number,
                url=url,
                select_label=select_label % {"number": number},
                actions_label=actions_label % {"number": number},
                kind=kind_label(invoice.kind),
                badge=badge(invoice.display_status),
                issued=_short_date(invoice.issue_date, language),
                due=due,
                amount=html.escape(format_money(invoice.total, currency, language=language)),
                outstanding=html.escape(
                    format_money(invoice.outstanding, currency, language=language)
                ),
                pay=PAY_ITEM.format(url=url, **pay) if invoice.is_payable else "",
            )
        )
    return mark_safe("".join(rows))


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
