"""Sections of the Account pane that apps above accounts render. Accounts draws the pane and
its tabs and imports no app above it; billing adds its settings here when it starts
(billing/apps.py): the currency and payment terms on Customer Info, and how invoices and
receipts arrive on Settings; and tabs of their own (billing's Payment methods), whose
content is only their sections."""

from collections import defaultdict
from collections.abc import Callable

from django.utils.safestring import SafeString

# A section: (request, the pane's context) -> its HTML. The context holds the tab's reads and
# any overrides (a bound form with its errors, after a refused change).
Section = Callable[..., SafeString]

_sections: dict[str, list[Section]] = defaultdict(list)
_tabs: dict[str, str] = {}


def add_section(tab: str, render: Section) -> None:
    """Show what `render` returns on `tab`, after the sections added before it."""
    _sections[tab].append(render)


def sections_for(tab: str, request, context: dict) -> list[SafeString]:
    return [render(request, context) for render in _sections[tab]]


def add_tab(tab: str, label: str) -> None:
    """A tab of the pane after accounts' own, for every member; its sections fill it."""
    _tabs[tab] = label


def tabs() -> dict[str, str]:
    return dict(_tabs)
