"""Display helpers every template may use (registered as builtins in settings)."""

from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

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
