"""Money arithmetic and its display: Decimal only, never float.

Amounts have 2 decimal places, rounded half-up once per invoice line and once for the VAT of
an invoice; unit prices keep 6. Integer minor units exist only at the Stripe edge.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from django.db.models import TextChoices

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest month's quantity times the largest unit price (docs/invoicing.md, "Bounds") has
# 35 digits: more than Decimal's default 28 keep, which would round before the cents are.
EXACT = Context(prec=60)

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


class Currency(TextChoices):
    """The currencies customers are billed in and price plans are in (ISO 4217 codes)."""

    EUR = "EUR", "Euro"


def round_money(value: Decimal) -> Decimal:
    """Half-up to cents, symmetric around zero (-0.005 becomes -0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """An invoice line's amount: quantity times the 6-place unit price, rounded once."""
    return round_money(EXACT.multiply(Decimal(quantity), Decimal(unit_price)))


def vat_amount(subtotal: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT on the sum of the rounded lines, rounded once for the whole invoice."""
    return round_money(EXACT.divide(EXACT.multiply(Decimal(subtotal), Decimal(rate_percent)), 100))


def _exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """What Stripe expects: €12.34 is 1234, ¥1,235 is 1235 (rounded half-up, never truncated)."""
    scale = Decimal(10) ** _exponent(currency)
    return int((Decimal(amount) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """Stripe's integer amount back to money: 1234 EUR is 12.34."""
    return round_money(Decimal(amount) / Decimal(10) ** _exponent(currency))


@dataclass(frozen=True)
class NumberStyle:
    """How a language writes numbers and amounts."""

    group: str  # between thousands
    decimal: str
    symbol_first: bool  # €1.00, or 1,00 €
    percent: str  # after the number: 12%, or 12 %


# English is the house style (€1,234.56); Swedish writes 1 234,56 € and 12 % with no-break
# spaces. Text that is stored (notes for staff) is written in English; the timeline stores
# amounts, not sentences (billing.models.events).
NUMBER_STYLES = {
    "en": NumberStyle(group=",", decimal=".", symbol_first=True, percent="%"),
    "sv": NumberStyle(group="\u00a0", decimal=",", symbol_first=False, percent="\u00a0%"),
}


def _style(language: str) -> NumberStyle:
    return NUMBER_STYLES.get(language.split("-")[0], NUMBER_STYLES["en"])


def _digits(text: str, style: NumberStyle) -> str:
    """A number Python wrote with "," between thousands and "." before the decimals, in
    `style`."""
    return text.translate(str.maketrans({",": style.group, ".": style.decimal}))


def _with_currency(number: str, negative: bool, currency: str, style: NumberStyle) -> str:
    sign = "−" if negative else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    if style.symbol_first:
        return f"{sign}{symbol or currency + ' '}{number}"
    return f"{sign}{number}\u00a0{symbol or currency}"


def format_money(amount, currency: str, *, language: str = "en") -> str:
    """€1,234.56 with exact cents; a negative amount as −€12.00 (a true minus sign). In
    Swedish (`language="sv"`): 1 234,56 € and −12,00 €."""
    value = round_money(Decimal(amount))
    style = _style(language)
    return _with_currency(_digits(f"{abs(value):,.2f}", style), value < 0, currency, style)


def format_quantity(value, *, min_places: int = 0, language: str = "en") -> str:
    """A number without needless zeros, grouped by thousands: 2160.0000 is 2,160; 0.012500
    is 0.0125 (at least `min_places` decimals). In Swedish 2 160 and 0,0125."""
    value = Decimal(value)
    whole, _, fraction = f"{abs(value).normalize():f}".partition(".")
    fraction = fraction.ljust(min_places, "0")
    text = _digits(f"{int(whole):,}" + (f".{fraction}" if fraction else ""), _style(language))
    return f"−{text}" if value < 0 else text


def format_change(percent: Decimal, *, language: str = "en") -> str:
    """A change in whole percent with its sign: +12%, −3% (a true minus sign), ±0%; in
    Swedish +12 %."""
    sign = "+" if percent > 0 else "−" if percent < 0 else "±"
    number = format_quantity(abs(percent), language=language)
    return f"{sign}{number}{_style(language).percent}"


def format_unit_price(value, currency: str, *, language: str = "en") -> str:
    """A unit price keeps its significant places (up to 6): €0.0125, €4.00 (0,0125 € in
    Swedish)."""
    value = Decimal(value)
    number = format_quantity(abs(value), min_places=2, language=language)
    return _with_currency(number, value < 0, currency, _style(language))
