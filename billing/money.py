"""Money arithmetic and its display: Decimal only, never float.

Amounts have 2 decimal places, rounded half-up once per invoice line and once for the VAT of
an invoice; unit prices keep 6. Integer minor units exist only at the Stripe edge.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# ISO 4217 minor units where Stripe differs from two: zero-decimal currencies take whole units,
# three-decimal ones thousandths.
MINOR_UNIT_EXPONENTS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
         "VUV", "XAF", "XOF", "XPF"],
        0,
    ),
    **dict.fromkeys(["BHD", "JOD", "KWD", "OMR", "TND"], 3),
}  # fmt: skip
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def round_money(value: Decimal) -> Decimal:
    """Half-up to cents, symmetric around zero (-0.005 becomes -0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """An invoice line's amount: quantity times the 6-place unit price, rounded once."""
    return round_money(Decimal(quantity) * Decimal(unit_price))


def vat_amount(subtotal: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT on the sum of the rounded lines, rounded once for the whole invoice."""
    return round_money(Decimal(subtotal) * Decimal(rate_percent) / 100)


def _exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """What Stripe expects: €12.34 is 1234, ¥1,235 is 1235 (rounded half-up, never truncated)."""
    scale = Decimal(10) ** _exponent(currency)
    return int((Decimal(amount) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """Stripe's integer amount back to money: 1234 EUR is 12.34."""
    return round_money(Decimal(amount) / Decimal(10) ** _exponent(currency))


def format_money(amount, currency: str = "EUR") -> str:
    """€1,234.56 with exact cents; a negative amount as −€12.00 (a true minus sign)."""
    value = round_money(Decimal(amount))
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def format_quantity(value, *, min_places: int = 0) -> str:
    """A number without needless zeros, grouped by thousands: 2160.0000 is 2,160; 0.012500
    is 0.0125 (at least `min_places` decimals)."""
    value = Decimal(value)
    whole, _, fraction = f"{abs(value).normalize():f}".partition(".")
    fraction = fraction.ljust(min_places, "0")
    text = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return f"−{text}" if value < 0 else text


def format_unit_price(value, currency: str = "EUR") -> str:
    """A unit price keeps its significant places (up to 6): €0.0125, €4.00."""
    value = Decimal(value)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{format_quantity(abs(value), min_places=2)}"
