"""Money arithmetic: Decimal only, rounded half-up to cents once per line and once for VAT."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """Half-up to cents, symmetric around zero (-0.005 becomes -0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """An invoice line's amount: quantity times the 6-place unit price, rounded once."""
    return round_money(Decimal(quantity) * Decimal(unit_price))


def vat_amount(subtotal: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT on the sum of the rounded lines, rounded once for the whole invoice."""
    return round_money(Decimal(subtotal) * Decimal(rate_percent) / 100)
