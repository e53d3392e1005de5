"""How large billing's figures may be: the column sizes of money and line quantities, and the
check that refuses a figure beyond them before the database is asked."""

from decimal import Decimal

from django.db import models

from billing.exceptions import OutOfRange

# Sized from the bound on a customer's month (usage/models.py, docs/invoicing.md "Bounds"): at
# most 10^16 of usage, at a unit price below 10^8 (6 places), is below 10^24 before VAT (a rate
# below 1000 %), so every amount of an invoice, its payments and credit fits 26 digits before
# the point.
MONEY = {"max_digits": 28, "decimal_places": 2}
LINE_QUANTITY = {"max_digits": 21, "decimal_places": 4}  # a month's usage: 17 digits


def check_fits(instance: models.Model, *names: str) -> None:
    for name in names:
        field, value = instance._meta.get_field(name), getattr(instance, name)
        if abs(value) >= Decimal(10) ** (field.max_digits - field.decimal_places):
            raise OutOfRange(
                f"{instance._meta.verbose_name} {name} {value} is beyond the "
                f"{field.max_digits - field.decimal_places} digits it can hold."
            )
