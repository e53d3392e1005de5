"""A month as the commands take it: YYYY-MM."""

import datetime
import re

from django.core.management.base import CommandError

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_argument(value: str, name: str) -> datetime.date:
    """ "2026-10" as the 1st of that month; CommandError naming the argument otherwise."""
    match = MONTH.fullmatch(value.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise CommandError(f"{name} must be a month as YYYY-MM, e.g. 2026-10 (got {value!r}).")
    return datetime.date(int(match[1]), int(match[2]), 1)
