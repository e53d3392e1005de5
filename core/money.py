"""Money arithmetic and its display: Decimal only, never float.

Amounts keep their currency's minor unit (ISO 4217: 2 places for EUR, SEK and USD, none for
JPY), rounded half-up once per invoice line and once for the VAT of an invoice; unit prices
keep 6 places in every currency. Integer minor units exist only at the Stripe edge.

The currencies customers may be billed in are data: `settings.BILLING_CURRENCIES` (the
`BILLING_CURRENCIES` environment variable), each an ISO 4217 code Babel knows whose minor unit
the books can hold. Amounts are written as CLDR (Babel's data) has the reader's language write
them, its patterns read once per currency and language.
"""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from babel import Locale
from babel.numbers import (
    get_currency_name,
    get_currency_symbol,
    list_currencies,
)
from django.conf import settings

ZERO = Decimal("0.00")
# The largest month's quantity times the largest unit price (docs/invoicing.md, "Bounds") has
# 35 digits: more than Decimal's default 28 keep, which would round before the cents are.
EXACT = Context(prec=60)
# The books keep amounts to 2 places (DecimalField(decimal_places=2)).
BOOK_PLACES = 2

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

# The languages pages are written in, as Babel's locales; any other is written the English way.
LOCALES = {"en": "en", "sv": "sv_SE"}


# Amounts in several currencies: one figure per currency, never one sum.
type Amounts = dict[str, Decimal]


def per_currency(pairs: Iterable[tuple[str, Decimal]]) -> Amounts:
    """Sums of (currency, amount) pairs, each within its currency and rounded to its minor
    unit, in code order; only those that are not zero."""
    sums: dict[str, Decimal] = {}
    for code, amount in pairs:
        sums[code] = sums.get(code, ZERO) + amount
    return {code: round_money(sums[code], code) for code in sorted(sums) if sums[code]}


def minor_unit(currency: str) -> int:
    """The places of the currency's minor unit: 2 for EUR and SEK, 0 for JPY, 3 for KWD."""
    return MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


def check_currency(code: str) -> str:
    """The code, upper case, if customers may be billed in it; ValueError saying why not."""
    code = code.strip().upper()
    if code not in list_currencies():
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    if minor_unit(code) > BOOK_PLACES:
        raise ValueError(
            f"{code} has {minor_unit(code)} decimal places; the books keep {BOOK_PLACES}"
        )
    return code


def billing_currencies() -> list[str]:
    """The currencies customers may be billed in and plans priced in, as configured."""
    return list(settings.BILLING_CURRENCIES)


def currency_choices() -> list[tuple[str, str]]:
    """Choices for a currency field: each configured code with its English name."""
    return [
        (code, f"{code} ({get_currency_name(code, locale='en')})") for code in billing_currencies()
    ]


def round_money(value: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit, symmetric around zero (-0.005 EUR becomes
    -0.01; 1234.5 JPY becomes 1235)."""
    places = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP, context=EXACT)


def line_amount(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """An invoice line's amount: quantity times the 6-place unit price, rounded once."""
    return round_money(EXACT.multiply(Decimal(quantity), Decimal(unit_price)), currency)


def vat_amount(subtotal: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """VAT on the sum of the rounded lines, rounded once for the whole invoice."""
    tax = EXACT.divide(EXACT.multiply(Decimal(subtotal), Decimal(rate_percent)), 100)
    return round_money(tax, currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """What Stripe expects: €12.34 is 1234, ¥1,235 is 1235 (rounded half-up, never truncated)."""
    scale = Decimal(10) ** minor_unit(currency)
    return int((Decimal(amount) * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """Stripe's integer amount back to money: 1234 EUR is 12.34, 1235 JPY is 1235."""
    return round_money(Decimal(amount) / Decimal(10) ** minor_unit(currency), currency)


def _locale(language: str) -> Locale:
    return Locale.parse(_locale_code(language))


def _locale_code(language: str) -> str:
    return LOCALES.get(language.split("-")[0], "en")


@dataclass(frozen=True, slots=True)
class _NumberStyle:
    """How one locale writes a number, read from Babel (CLDR) once: its group and decimal
    symbols, its grouping, and the fixed text before and after the digits (the currency and its
    spacing). `write` gives what Babel's `NumberPattern.apply` gives for a Decimal it must not
    round (`decimal_quantization=False`: every significant place, at least `min_places`), at a
    tenth of its cost: a page writes an amount per cell."""

    group: str
    decimal: str
    grouping: tuple[int, int]
    prefix: str = ""
    suffix: str = ""

    def write(self, value: Decimal, min_places: int) -> str:
        """`value` (not negative) with its significant places, at least `min_places`."""
        # normalize() as Babel does: no trailing zeros, rounded to the context's precision.
        integer, _, fraction = f"{value.normalize():f}".partition(".")
        fraction = fraction.ljust(min_places, "0")
        size, groups = self.grouping[0], []
        while len(integer) > size:
            groups.append(integer[-size:])
            integer = integer[:-size]
            size = self.grouping[1]
        digits = self.group.join([integer, *reversed(groups)])
        if fraction:
            digits += self.decimal + fraction
        return self.prefix + digits + self.suffix


@functools.cache
def _quantity_style(locale_code: str) -> _NumberStyle:
    # format_quantity's pattern, "#,##0.###": groups of three in every language.
    symbols = Locale.parse(locale_code).number_symbols["latn"]
    return _NumberStyle(group=symbols["group"], decimal=symbols["decimal"], grouping=(3, 3))


# Text quoted in a CLDR pattern ('kr'), and a doubled quote for a quote itself.
QUOTED = re.compile(r"'([^']*)'")


@functools.cache
def _money_style(currency: str, locale_code: str) -> _NumberStyle:
    """The locale's standard currency pattern (its positive form) with the currency's symbol.
    Cached: a few currencies times the site's languages."""
    locale = Locale.parse(locale_code)
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale)

    def fixed(text: str) -> str:
        text = text.replace("¤¤", currency.upper()).replace("¤", symbol)
        return QUOTED.sub(lambda quoted: quoted[1] or "'", text)

    prefix = fixed(pattern.prefix[0])
    # CLDR's currency spacing, which Babel leaves out: a symbol of letters stands apart from
    # the digits (SEK 1,234.50, not SEK1,234.50).
    if prefix == symbol and symbol[-1:].isalpha():
        prefix += "\u00a0"
    symbols = locale.number_symbols["latn"]
    return _NumberStyle(
        group=symbols["group"],
        decimal=symbols["decimal"],
        grouping=pattern.grouping,
        prefix=prefix,
        suffix=fixed(pattern.suffix[0]),
    )


def _with_currency(value: Decimal, currency: str, language: str, min_places: int) -> str:
    text = _money_style(currency, _locale_code(language)).write(abs(value), min_places)
    return f"−{text}" if value < 0 else text


def format_money(amount, currency: str, *, language: str = "en") -> str:
    """An amount in its currency's minor unit, as the language writes it: €1,234.56,
    SEK 1,234.50 and ¥1,235 in English; 1 234,50 kr in Swedish. A negative amount with a true
    minus sign: −€12.00."""
    return _with_currency(
        round_money(Decimal(amount), currency), currency, language, minor_unit(currency)
    )


def format_unit_price(value, currency: str, *, language: str = "en") -> str:
    """A unit price keeps its significant places (up to 6, at least the currency's minor
    unit): €0.0125, €4.00, ¥3 (0,0125 € in Swedish)."""
    return _with_currency(Decimal(value), currency, language, minor_unit(currency))


def format_quantity(value, *, min_places: int = 0, language: str = "en") -> str:
    """A number without needless zeros, grouped by thousands: 2160.0000 is 2,160; 0.012500
    is 0.0125 (at least `min_places` decimals). In Swedish 2 160 and 0,0125."""
    value = Decimal(value)
    text = _quantity_style(_locale_code(language)).write(abs(value), min_places)
    return f"−{text}" if value < 0 else text


def format_change(percent: Decimal, *, language: str = "en") -> str:
    """A change in whole percent with its sign: +12%, −3% (a true minus sign), ±0%; in
    Swedish +12 %."""
    sign = "+" if percent > 0 else "−" if percent < 0 else "±"
    locale = _locale(language)
    number = format_quantity(abs(percent), language=language)
    pattern = locale.percent_formats[None].pattern.split(";")[0]
    return sign + pattern.replace("#,##0", number)
