"""Display helpers every template may use (registered as builtins in settings)."""

from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portal.icons import ICON_PATHS

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


@register.filter
def money(amount, currency="EUR"):
    """€1,234.56 (exact cents); a negative amount as −€12.00. Blank for None."""
    if amount is None or amount == "":
        return ""
    value = Decimal(amount).quantize(Decimal("0.01"))
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{intcomma(f'{abs(value):.2f}', use_l10n=False)}"


def _trimmed(value: Decimal, *, min_places: int) -> str:
    """Drop trailing zeros beyond `min_places` decimals: 2160.0000 -> 2,160; 0.012500 -> 0.0125."""
    value = Decimal(value)
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(min_places, "0")
    grouped = intcomma(whole, use_l10n=False)
    return f"{grouped}.{fraction}" if fraction else grouped


@register.filter
def quantity(value):
    """A metered quantity without needless zeros: 2,160 or 12.5."""
    return "" if value is None else _trimmed(value, min_places=0)


@register.filter
def unit_price(value, currency="EUR"):
    """A unit price keeps its significant places (up to 6): €0.0125, €4.00."""
    if value is None:
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if Decimal(value) < 0 else ""
    return f"{sign}{symbol}{_trimmed(abs(Decimal(value)), min_places=2)}"


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
