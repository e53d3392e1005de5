"""Money to the cent: lines rounded half-up once, VAT rounded once on the sum of the lines."""

from decimal import Decimal

import pytest

from billing import services
from core.money import (
    format_change,
    format_money,
    format_quantity,
    format_unit_price,
    from_minor_units,
    line_amount,
    round_money,
    to_minor_units,
    vat_amount,
)
from tests.billing.conftest import LINES, SUBTOTAL, TOTAL, VAT
from tests.factories import issued_invoice

pytestmark = pytest.mark.both_databases


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.125", "0.13"),  # half-up, not banker's rounding (which gives 0.12)
        ("0.135", "0.14"),
        ("0.124999", "0.12"),
        ("-0.125", "-0.13"),  # credits round away from zero too
        ("2.675", "2.68"),  # a float would say 2.67
        ("1000000.005", "1000000.01"),
    ],
)
def test_round_money_is_half_up(value, expected):
    assert round_money(Decimal(value), "EUR") == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("1234.5", "JPY", "1235"),  # yen have no minor unit: half-up to whole yen
        ("1234.49", "JPY", "1234"),
        ("-0.5", "JPY", "-1"),
        ("12.345", "SEK", "12.35"),  # öre: two places, as cents
        ("12.344999", "SEK", "12.34"),
    ],
)
def test_amounts_round_to_their_currencys_minor_unit(value, currency, expected):
    rounded = round_money(Decimal(value), currency)
    assert rounded == Decimal(expected)
    assert rounded.as_tuple().exponent == Decimal(expected).as_tuple().exponent


def test_line_amount_multiplies_six_place_prices_then_rounds_once():
    assert line_amount(Decimal("8640.5"), Decimal("0.004200"), "EUR") == Decimal("36.29")
    assert line_amount(Decimal("333.333"), Decimal("0.015000"), "EUR") == Decimal("5.00")
    assert line_amount(Decimal("3"), Decimal("0.001666"), "EUR") == Decimal("0.00")  # 0.004998
    # Yen: 8640.5 x 0.462000 = 3991.911 -> 3992; 3 x 0.166666 = 0.499998 -> 0.
    assert line_amount(Decimal("8640.5"), Decimal("0.462000"), "JPY") == Decimal("3992")
    assert line_amount(Decimal("3"), Decimal("0.166666"), "JPY") == Decimal("0")


def test_vat_is_rounded_once_on_the_subtotal():
    # Rounding VAT per line would give 6.75 + 9.07 = 15.82; on the sum it is 15.83.
    assert vat_amount(Decimal("27.00") + Decimal("36.29"), Decimal("25"), "EUR") == Decimal("15.82")
    assert vat_amount(Decimal("63.31"), Decimal("25"), "EUR") == Decimal("15.83")  # 15.8275
    # Yen: 25% of 3994 is 998.5 -> 999 (to whole yen, half-up).
    assert vat_amount(Decimal("3994"), Decimal("25"), "JPY") == Decimal("999")


def test_an_issued_invoice_has_the_hand_computed_totals(customer):
    invoice = issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    amounts = list(invoice.lines.values_list("amount", flat=True))
    assert amounts == [Decimal("27.00"), Decimal("36.29"), Decimal("102.00"), Decimal("5.00")]
    assert (invoice.subtotal, invoice.vat_amount, invoice.total) == (SUBTOTAL, VAT, TOTAL)
    assert invoice.outstanding == TOTAL


def test_domestic_customers_pay_the_sellers_vat_and_eu_businesses_none(customer, settings):
    settings.SELLER = {**settings.SELLER, "country": "SE"}
    settings.VAT_RATE = Decimal("25.00")
    customer.country = "SE"
    domestic = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])
    customer.country, customer.vat_id = (
        "DE",
        "DE123456788",
    )  # reverse charge (tests/billing/test_vat.py)
    foreign = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])
    assert (domestic.vat_amount, domestic.total) == (Decimal("2.50"), Decimal("12.50"))
    assert (foreign.vat_amount, foreign.total) == (Decimal("0.00"), Decimal("10.00"))


def test_a_full_credit_note_reverses_every_line(invoice):
    note = services.issue_credit_note(invoice=invoice, reason="Billing error", deliver=False)
    assert note.total == -TOTAL
    assert (note.subtotal, note.vat_amount) == (-SUBTOTAL, -VAT)
    assert sorted(note.lines.values_list("amount", flat=True)) == sorted(
        -amount for amount in invoice.lines.values_list("amount", flat=True)
    )
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("0.00")
    assert invoice.status == "credited"  # settled by the credit note; nothing was paid


def test_a_partial_credit_adds_vat_at_the_invoices_rate(invoice):
    # 40.00 net + 25% VAT = 50.00 credited; 212.86 - 50.00 = 162.86 still owed.
    note = services.issue_credit_note(
        invoice=invoice, reason="SLA credit", net_amount=Decimal("40"), deliver=False
    )
    assert (note.subtotal, note.vat_amount, note.total) == (
        Decimal("-40.00"),
        Decimal("-10.00"),
        Decimal("-50.00"),
    )
    invoice.refresh_from_db()
    assert invoice.amount_credited == Decimal("50.00")
    assert invoice.outstanding == Decimal("162.86")
    assert invoice.status == "unpaid"


def test_vat_is_half_up_not_half_even(customer):
    # 0.50 at 25% is 0.125: half-up gives 0.13, banker's rounding would give 0.12.
    invoice = issued_invoice(customer, [("vm", "Setup", "1", "each", "0.50")], vat_rate=Decimal(25))
    assert (invoice.vat_amount, invoice.total) == (Decimal("0.13"), Decimal("0.63"))


def test_vat_is_taken_once_on_the_subtotal_not_per_line(customer):
    # Three lines of 0.10 at 25%: 0.30 x 25% = 0.075 -> 0.08. Per line it would be 3 x 0.03 = 0.09.
    lines = [("vm", f"Item {n}", "1", "each", "0.10") for n in range(3)]
    invoice = issued_invoice(customer, lines, vat_rate=Decimal(25))
    assert (invoice.subtotal, invoice.vat_amount, invoice.total) == (
        Decimal("0.30"),
        Decimal("0.08"),
        Decimal("0.38"),
    )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("12.34", "SEK", 1234),
        ("0.01", "eur", 1),
        ("1234.50", "JPY", 1235),  # no minor unit: rounded half-up, not truncated to 1234
        ("1234.49", "JPY", 1234),
        ("1.23", "KWD", 1230),  # three decimals
    ],
)
def test_minor_units_follow_each_currencys_exponent(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [(1234, "EUR", "12.34"), (1235, "JPY", "1235.00"), (1230, "KWD", "1.23"), (7, "SEK", "0.07")],
)
def test_minor_units_read_back_exactly(minor, currency, amount):
    assert from_minor_units(minor, currency) == Decimal(amount)


def test_money_is_written_with_its_currency_and_a_true_minus_for_credits():
    assert format_money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_money(Decimal("-12"), "EUR") == "−€12.00"
    assert format_money(Decimal("3"), "SEK") == "SEK\u00a03.00"
    assert format_money(Decimal("1234.5"), "SEK") == "SEK\u00a01,234.50"
    assert format_money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "JPY") == "¥1,235"  # no minor unit
    assert format_money(Decimal("-3400"), "NOK") == "−NOK\u00a03,400.00"


def test_swedish_writes_amounts_with_a_decimal_comma_and_the_currency_after():
    nbsp = "\u00a0"
    assert (
        format_money(Decimal("1234567.5"), "EUR", language="sv") == f"1{nbsp}234{nbsp}567,50{nbsp}€"
    )
    assert format_money(Decimal("-12"), "EUR", language="sv") == f"−12,00{nbsp}€"
    assert format_money(Decimal("3"), "SEK", language="sv") == f"3,00{nbsp}kr"
    assert format_money(Decimal("1234.5"), "SEK", language="sv") == f"1{nbsp}234,50{nbsp}kr"
    assert format_money(Decimal("1234.5"), "JPY", language="sv") == f"1{nbsp}235{nbsp}JPY"
    assert format_unit_price(Decimal("0.462000"), "SEK", language="sv") == f"0,462{nbsp}kr"
    assert format_quantity(Decimal("8640.5000"), language="sv") == f"8{nbsp}640,5"
    assert format_unit_price(Decimal("0.012500"), "EUR", language="sv") == f"0,0125{nbsp}€"
    # A language without a style of its own is written the house way.
    assert format_money(Decimal("1234.5"), "EUR", language="de") == "€1,234.50"


def test_changes_in_percent_carry_their_sign_and_the_languages_spacing():
    nbsp = "\u00a0"
    assert [format_change(Decimal(n)) for n in ("12", "-3", "0", "9000")] == [
        "+12%",
        "−3%",
        "±0%",
        "+9,000%",
    ]
    assert format_change(Decimal("-1250"), language="sv") == f"−1{nbsp}250{nbsp}%"
