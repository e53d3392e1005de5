"""Display helpers every template may use (registered as builtins in settings): money and
quantities as core/money.py writes them in the active language, and icons."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_countries import countries

from core.money import format_money, format_quantity, format_unit_price
from portal.icons import ICON_PATHS

register = template.Library()


@register.filter
def money(amount, currency="EUR"):
    """€1,234.56 (exact cents); a negative amount as −€12.00; 1 234,56 € in Swedish. Blank
    for None."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency, language=get_language())


@register.filter
def quantity(value):
    """A metered quantity without needless zeros: 2,160 or 12.5."""
    return "" if value is None else format_quantity(value, language=get_language())


@register.filter
def unit_price(value, currency="EUR"):
    """A unit price keeps its significant places (up to 6): €0.0125, €4.00."""
    return "" if value is None else format_unit_price(value, currency, language=get_language())


@register.filter
def country_name(code: str) -> str:
    """SE as "Sweden", in the active language; the code itself if unknown."""
    return countries.name(code) or code


@register.simple_tag
def icon(name: str, css_class: str = "") -> str:
    """{% icon "invoices" %} or {% icon "search" "search-icon" %}: an inline SVG."""
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" width="20" height="20" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true" focusable="false">{}</svg>',
        classes,
        mark_safe(ICON_PATHS[name]),
    )
