"""Checks on what customers type: VAT ids (python-stdnum) and phone numbers (phonenumbers).
Each returns the value in the one form we store, or raises ValidationError with a message that
says what is wrong."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.util import clean

_PLAIN_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{1,29}")


def _country_name(country: str) -> str:
    return countries.name(country) or country


def normalize_vat_id(value: str, country: str) -> str:
    """A VAT id checked against `country`'s format and check digits. EU ids are stored with
    their country prefix (SE556677889901; Greece uses EL); others as their country writes them.
    For a country python-stdnum has no VAT rules for, only the characters are checked."""
    value = value.strip()
    if not value:
        return ""
    country = country.upper()
    name = _country_name(country)
    if country.lower() in eu_vat.MEMBER_STATES or country == "GR":
        prefix = "EL" if country == "GR" else country
        number = clean(value, " -./,").upper().strip()
        if not number[:2].isalpha():
            number = prefix + number
        if number[:2] != prefix:
            raise ValidationError(
                _(
                    "A VAT id from %(country)s starts with %(prefix)s; this one starts with "
                    "%(typed)s. Check the country or the VAT id."
                )
                % {"country": name, "prefix": prefix, "typed": number[:2]},
                code="vat_country",
            )
        validate = eu_vat.validate
    else:
        module = get_cc_module(country, "vat")
        if module is None:
            number = clean(value, " ").upper()
            if not _PLAIN_ID.fullmatch(number):
                raise ValidationError(
                    _("A VAT id has letters, digits and dashes only (at most 30)."),
                    code="vat_format",
                )
            return number
        number, validate = value, module.validate
    try:
        return validate(number)
    except InvalidChecksum:
        raise ValidationError(
            _(
                "The check digits of this VAT id do not add up: a digit of it is mistyped. "
                "Copy it from your VAT registration in %(country)s."
            )
            % {"country": name},
            code="vat_checksum",
        ) from None
    except NumberInvalid:
        raise ValidationError(
            _(
                "This is not a VAT id from %(country)s: its length or characters do not fit "
                "%(country)s's format."
            )
            % {"country": name},
            code="vat_format",
        ) from None


def normalize_phone(value: str, country: str = "") -> str:
    """A phone number in E.164 (+46812345600). Without a leading +, it is read as a number in
    `country`."""
    region = country.upper() if country.upper() in phonenumbers.SUPPORTED_REGIONS else None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter a phone number with its country code, such as +46 8 123 456 00."),
            code="phone_format",
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "This is not a phone number that can be called: check the country code and the "
                "number of digits."
            ),
            code="phone_invalid",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
