"""Amounts, unit prices and quantities are written exactly as Babel writes them (CLDR, in each
of the site's languages), though core/money.py reads Babel's patterns once rather than asking
Babel per call. The expected text here comes from Babel itself, called as it was before."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from django.conf import settings
from hypothesis import example, given
from hypothesis import strategies as st

from core.money import (
    LOCALES,
    MINOR_UNIT_EXPONENTS,
    format_money,
    format_quantity,
    format_unit_price,
    minor_unit,
)

# The configured currencies, and one of each minor unit the books hold beside them.
CURRENCIES = sorted({*settings.BILLING_CURRENCIES, "JPY", "KRW", "CHF"})
LANGUAGES = [code for code, _ in settings.LANGUAGES]


def babel_currency(value: Decimal, currency: str, language: str, places: tuple[int, int]) -> str:
    """Babel's format_currency of the absolute value with the locale's standard pattern, its
    decimals `places` (min, max), unrounded; CLDR's currency spacing after a symbol of letters
    (which Babel leaves out); a true minus sign before a negative amount."""
    locale = Locale.parse(LOCALES[language])
    standard = locale.currency_formats["standard"].pattern.split(";")[0]
    least, most = places
    decimals = "0" * least + "#" * (most - least)
    pattern = standard.replace("0.00", "0." + decimals if decimals else "0")
    text = format_currency(
        abs(value),
        currency,
        format=pattern,
        locale=locale,
        currency_digits=False,
        decimal_quantization=False,
    )
    symbol = get_currency_symbol(currency, locale)
    if symbol[-1].isalpha() and text.startswith(symbol) and text[len(symbol)].isdigit():
        text = f"{symbol}\u00a0{text[len(symbol) :]}"
    return f"−{text}" if value < 0 else text


def half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


EDGES = [
    "0",
    "0.00",
    "-0.00",
    "0.004",
    "0.005",  # half-up: a cent (a whole yen from 0.5)
    "-0.005",
    "0.5",
    "-0.5",
    "1",
    "999.995",  # rounds up into the next group of thousands
    "1000",
    "-1234.56",
    "1234567.891",
    "9999999999.99",  # the largest amount the books hold (12 digits, 2 places)
    "-9999999999.99",
    "100000000000000000000",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("currency", CURRENCIES)
@pytest.mark.parametrize("text", EDGES)
def test_an_amount_is_written_as_babel_writes_it_rounded_to_the_minor_unit(
    text, currency, language
):
    value = Decimal(text)
    places = (minor_unit(currency),) * 2
    expected = babel_currency(half_up(value, currency), currency, language, places)
    assert format_money(value, currency, language=language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("currency", CURRENCIES)
@given(
    value=st.decimals(min_value=-(10**10), max_value=10**10, places=3, allow_nan=False),
)
def test_any_amount_is_written_as_babel_writes_it(value, currency, language):
    places = (minor_unit(currency),) * 2
    expected = babel_currency(half_up(value, currency), currency, language, places)
    assert format_money(value, currency, language=language) == expected


def test_yen_are_written_in_whole_yen_and_cents_never_as_whole_units():
    assert MINOR_UNIT_EXPONENTS["JPY"] == 0
    assert format_money(Decimal("1234.5"), "JPY") == "¥1,235"
    assert format_money(Decimal("-0.4"), "JPY") == "¥0"  # rounds to zero: no minus sign
    assert format_money(Decimal("0.004"), "EUR") == "€0.00"
    assert format_money(Decimal("7"), "EUR", language="sv") == "7,00\u00a0€"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("currency", CURRENCIES)
@given(value=st.decimals(min_value=-1000, max_value=10**6, places=6, allow_nan=False))
@example(value=Decimal("0.012500"))
@example(value=Decimal("4.000000"))
@example(value=Decimal("0.000001"))
def test_a_unit_price_is_written_as_babel_writes_it_with_its_significant_places(
    value, currency, language
):
    expected = babel_currency(value, currency, language, (minor_unit(currency), 6))
    assert format_unit_price(value, currency, language=language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("min_places", [0, 2])
@given(value=st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False))
@example(value=Decimal("8640.5000"))
@example(value=Decimal("0.0000"))
@example(value=Decimal("1E+3"))
def test_a_quantity_is_written_as_babel_writes_it_without_needless_zeros(
    value, min_places, language
):
    places = max(min_places, -abs(value).normalize().as_tuple().exponent)
    pattern = "#,##0" + ("." + "0" * min_places + "#" * (places - min_places) if places else "")
    text = format_decimal(
        abs(value), format=pattern, locale=LOCALES[language], decimal_quantization=False
    )
    expected = f"−{text}" if value < 0 else text
    assert format_quantity(value, min_places=min_places, language=language) == expected


def test_a_region_of_a_language_is_written_as_the_language():
    assert format_money(Decimal("1234.5"), "SEK", language="sv-fi") == "1\u00a0234,50\u00a0kr"
    assert format_money(Decimal("1234.5"), "SEK", language="en-gb") == "SEK\u00a01,234.50"
