"""What the Usage page and its CSVs read from the address: `?range=`, `?month=`, `?service=`.

Nothing a customer types there is refused: a value that cannot be read is left out and the page
says so (the default range, or all services), and the CSVs carry what they hold in their names.
"""

import datetime
import re
from dataclasses import dataclass, field

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext

from usage.ranges import (
    DEFAULT_RANGE,
    PRESET_RANGES,
    UsageRange,
    month_range,
    preset_range,
)

MONTH = re.compile(r"(\d{4})-(\d{2})")
FIRST_YEAR = 2000  # no usage is older; earlier years would only overflow date arithmetic


@dataclass(frozen=True)
class UsageChoice:
    """The range and service a request asked for, as far as they could be read, and a
    sentence for each part that could not."""

    range: UsageRange
    service: str | None
    notices: list[str] = field(default_factory=list)
    by_month: bool = False  # chosen by ?month=, not by ?range=

    @property
    def query(self) -> dict[str, str]:
        """The range as asked for, for links that keep it: ?month=2026-10 keeps meaning October
        next month too, ?range=last-month does not."""
        if self.by_month:
            return {"month": self.range.first_day.strftime("%Y-%m")}
        return {"range": self.range.key}


class UsageFilterForm(forms.Form):
    range = forms.CharField(required=False)
    month = forms.CharField(required=False)
    service = forms.CharField(required=False, max_length=120)

    def choice(self, today: datetime.date) -> UsageChoice:
        """`?month=YYYY-MM` (a calendar month; the current one up to today), else `?range=`
        (7d, last-month, 90d; 7d when absent), and optionally one `?service=`."""
        # Every field is optional: an error (a service name too long) only marks what to leave
        # out. A NUL character, the one thing range and month refuse, never gets this far
        # (portal.middleware.RefuseNulMiddleware).
        self.is_valid()
        data, notices = self.cleaned_data, []
        month = None
        if data.get("month"):
            month, problem = parse_month(data["month"], today)
            notices += [problem] if problem else []
        key = data.get("range") or DEFAULT_RANGE
        if month:
            usage_range = month_range(month, today)
        elif key in PRESET_RANGES:
            usage_range = preset_range(key, today)
        else:
            usage_range = preset_range(DEFAULT_RANGE, today)
            notice = gettext("“%(value)s” is not a range; showing the last 7 days.")
            notices.append(notice % {"value": key[:20]})
        if "service" in self.errors:
            notices.append(gettext("That is not a service name; showing all services."))
        return UsageChoice(usage_range, data.get("service") or None, notices, by_month=bool(month))


def parse_month(text: str, today: datetime.date) -> tuple[datetime.date | None, str]:
    """The 1st of the month `text` (YYYY-MM) names, or None and why not."""
    match = MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < FIRST_YEAR:
        return None, gettext(
            "“%(value)s” is not a month: write it as YYYY-MM, e.g. 2026-10. "
            "Showing the last 7 days."
        ) % {"value": text[:20]}
    month = datetime.date(int(match[1]), int(match[2]), 1)
    if month > today:
        return None, gettext("%(month)s has not begun yet; showing the last 7 days.") % {
            "month": date_format(month, "F Y")
        }
    return month, ""
