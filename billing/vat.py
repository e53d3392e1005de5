"""The EU VAT rule, in one place: what VAT an invoice to a customer charges, and why.

The seller (settings.SELLER) sells cloud services, which are taxed where the customer is:

- a customer in the seller's own country pays the seller's VAT (`VAT_RATE`);
- a business in another EU country, known by a VAT id of the right format and check digits
  for that country, pays none: reverse charge (Art. 196 of Directive 2006/112/EC), the
  customer accounts for the VAT;
- a customer in another EU country without such a VAT id is a consumer and pays the VAT of
  its own country (the One-Stop-Shop, STANDARD_RATES below), or the seller's VAT where
  `SELLER_UNDER_EU_VAT_THRESHOLD` says the seller's sales to consumers in other EU countries
  stay under €10,000 a year (Art. 59c);
- a customer outside the EU pays none: out of scope of EU VAT.

An issued invoice keeps the rate and treatment it was made with (Invoice.vat_rate,
Invoice.vat_treatment): a new rate in the table changes only invoices made afterwards.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from stdnum.eu import vat as eu_vat

from accounts.models import Customer
from billing.models import VatTreatment
from core.money import ZERO, vat_amount

# The standard VAT rate of each EU member state (by ISO country code), from the day it
# applies, as the European Commission lists them ("VAT rates applied in the Member States").
# A change of rate is a new row with its first day; the rows before it stay for the dates they
# cover. Dates before 2024 take a country's first row.
_RATES_FROM = [
    ("AT", "2024-01-01", "20"),
    ("BE", "2024-01-01", "21"),
    ("BG", "2024-01-01", "20"),
    ("CY", "2024-01-01", "19"),
    ("CZ", "2024-01-01", "21"),
    ("DE", "2024-01-01", "19"),
    ("DK", "2024-01-01", "25"),
    ("EE", "2024-01-01", "22"),
    ("EE", "2025-07-01", "24"),
    ("ES", "2024-01-01", "21"),
    ("FI", "2024-01-01", "24"),
    ("FI", "2024-09-01", "25.5"),
    ("FR", "2024-01-01", "20"),
    ("GR", "2024-01-01", "24"),
    ("HR", "2024-01-01", "25"),
    ("HU", "2024-01-01", "27"),
    ("IE", "2024-01-01", "23"),
    ("IT", "2024-01-01", "22"),
    ("LT", "2024-01-01", "21"),
    ("LU", "2024-01-01", "17"),
    ("LV", "2024-01-01", "21"),
    ("MT", "2024-01-01", "18"),
    ("NL", "2024-01-01", "21"),
    ("PL", "2024-01-01", "23"),
    ("PT", "2024-01-01", "23"),
    ("RO", "2024-01-01", "19"),
    ("RO", "2025-08-01", "21"),
    ("SE", "2024-01-01", "25"),
    ("SI", "2024-01-01", "22"),
    ("SK", "2024-01-01", "20"),
    ("SK", "2025-01-01", "23"),
]


def _by_country(rows) -> dict[str, list[tuple[datetime.date, Decimal]]]:
    table: dict[str, list[tuple[datetime.date, Decimal]]] = {}
    for country, since, rate in sorted(rows):
        table.setdefault(country, []).append(
            (datetime.date.fromisoformat(since), Decimal(rate).quantize(Decimal("0.01")))
        )
    return table


STANDARD_RATES = _by_country(_RATES_FROM)
EU_COUNTRIES = frozenset(STANDARD_RATES)


@dataclass(frozen=True)
class Vat:
    treatment: VatTreatment
    rate: Decimal


def standard_rate(country: str, on: datetime.date) -> Decimal:
    """The EU member state's standard VAT rate in force on `on`."""
    rows = STANDARD_RATES[country]
    return next((rate for since, rate in reversed(rows) if since <= on), rows[0][1])


def is_eu_vat_id(vat_id: str, country: str) -> bool:
    """A VAT id of `country`'s format and check digits (python-stdnum, offline); Greece's
    start with EL."""
    prefix = "EL" if country == "GR" else country
    return bool(vat_id) and vat_id[:2].upper() == prefix and eu_vat.is_valid(vat_id)


def vat_for(*, country: str, vat_id: str, on: datetime.date) -> Vat:
    """The treatment and rate of an invoice made on `on` to a customer in `country` with
    `vat_id` (the customer's confirmed details): the rule in the module's docstring."""
    if country == settings.SELLER["country"]:
        return Vat(VatTreatment.DOMESTIC, settings.VAT_RATE)
    if country not in EU_COUNTRIES:
        return Vat(VatTreatment.OUT_OF_SCOPE, ZERO)
    if is_eu_vat_id(vat_id, country):
        return Vat(VatTreatment.REVERSE_CHARGE, ZERO)
    if settings.SELLER_UNDER_EU_VAT_THRESHOLD:
        return Vat(VatTreatment.EU_CONSUMER_SELLER_VAT, settings.VAT_RATE)
    return Vat(VatTreatment.EU_CONSUMER, standard_rate(country, on))


@dataclass(frozen=True)
class VatEstimate:
    """An estimate before VAT with the VAT the customer's invoice would add to it: the rule
    above, rounded half-up once on the whole amount, as an invoice's VAT is."""

    subtotal: Decimal
    currency: str
    treatment: VatTreatment
    rate: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.vat


def vat_estimate(
    customer: Customer, subtotal: Decimal, currency: str, *, on: datetime.date
) -> VatEstimate:
    """The VAT on `subtotal` (in `currency`) for an invoice made on `on` to `customer`, as it
    stands now."""
    tax = vat_for(country=customer.country, vat_id=customer.vat_id, on=on)
    vat = vat_amount(subtotal, tax.rate, currency)
    return VatEstimate(subtotal, currency, tax.treatment, tax.rate, vat)
