"""Invoice display helpers for templates: {% load billing_tags %}."""

from django import template
from django.utils.html import format_html

from portal.templatetags.portal_tags import icon

register = template.Library()

# The badge a customer sees for each display status: never colour alone, always a word.
BADGES = {
    "paid": ("badge-paid", "check-circle", "Paid"),
    "unpaid": ("badge-unpaid", "clock", "Unpaid"),
    "overdue": ("badge-overdue", "alert", "Overdue"),
    "credited": ("badge-neutral", "check", "Credited"),
    "void": ("badge-void", "minus-circle", "Void"),
    "draft": ("badge-draft", "minus-circle", "Draft"),
}


@register.simple_tag
def status_badge(invoice) -> str:
    css, icon_name, label = BADGES[invoice.display_status]
    return format_html('<span class="badge {}">{}{}</span>', css, icon(icon_name), label)
