"""Display helpers every template may use (registered as builtins in settings): money and
quantities as core/money.py writes them in the active language, identifiers kept whole, and
icons."""

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_countries import countries

from core.icons import svg_icon
from core.money import format_money, format_quantity, format_unit_price

register = template.Library()

# Invoice and customer numbers and email addresses inside free text (timeline entries, credit
# reasons): browsers break lines at their hyphens unless they are kept whole.
IDENTIFIER = re.compile(r"INV-\d{4}-\d{4}|C-\d{5}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@register.filter(needs_autoescape=True)
def keep_identifiers_whole(text, autoescape=True):
    """The text, escaped, with each identifier in a span that never breaks."""
    escape = conditional_escape if autoescape else str
    text = str(text)
    parts, end = [], 0
    for match in IDENTIFIER.finditer(text):
        parts.append(escape(text[end : match.start()]))
        parts.append(format_html('<span class="ident">{}</span>', match[0]))
        end = match.end()
    parts.append(escape(text[end:]))
    return mark_safe("".join(parts))


@register.filter
def money(amount, currency):
    """€1,234.56, SEK 1,234.50, ¥1,235 (the currency's minor unit); a negative amount as
    −€12.00; 1 234,50 kr in Swedish. Every call names its currency. Blank for None."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency, language=get_language())


@register.filter
def amounts(per_currency):
    """Amounts in several currencies, one figure each and never summed: "€1,200.00 ·
    3 400,00 kr" (a mapping currency -> amount, core.money.Amounts)."""
    language = get_language()
    return " · ".join(
        format_money(amount, currency, language=language)
        for currency, amount in per_currency.items()
    )


@register.filter
def quantity(value):
    """A metered quantity without needless zeros: 2,160 or 12.5."""
    return "" if value is None else format_quantity(value, language=get_language())


@register.filter
def unit_price(value, currency):
    """A unit price keeps its significant places (up to 6): €0.0125, €4.00."""
    return "" if value is None else format_unit_price(value, currency, language=get_language())


@register.filter
def country_name(code: str) -> str:
    """SE as "Sweden", in the active language; the code itself if unknown."""
    return countries.name(code) or code


@register.simple_tag
def icon(name: str, css_class: str = "") -> str:
    """{% icon "invoices" %} or {% icon "search" "search-icon" %}: an inline SVG."""
    return svg_icon(name, css_class)
