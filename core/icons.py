"""Every icon the portal draws (Lucide-style, 24×24, stroked): `{% icon %}` in templates, and
`svg_icon` for markup written in Python (billing's invoice rows)."""

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

ICON_PATHS = {
    "dashboard": (
        '<rect x="3" y="3" width="7" height="9" rx="1"/><rect x="14" y="3" width="7" height="5" rx="1"/><rect x="14" y="12" width="7" height="9" rx="1"/><rect x="3" y="16" width="7" height="5" rx="1"/>'
    ),
    "invoices": (
        '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6"/><path d="M8 13h8"/><path d="M8 17h5"/>'
    ),
    "usage": (
        '<path d="M3 3v18h18"/><path d="M8 17v-5"/><path d="M13 17V8"/><path d="M18 17v-8"/>'
    ),
    "account": (
        '<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z"/>'
    ),
    "user": (
        '<circle cx="12" cy="12" r="10"/><circle cx="12" cy="10" r="3"/><path d="M6.2 18.8a7 7 0 0 1 11.6 0"/>'
    ),
    "menu": ('<path d="M4 6h16"/><path d="M4 12h16"/><path d="M4 18h16"/>'),
    "close": ('<path d="M18 6 6 18"/><path d="m6 6 12 12"/>'),
    "check": ('<path d="M20 6 9 17l-5-5"/>'),
    "check-circle": ('<circle cx="12" cy="12" r="10"/><path d="m8 12 3 3 5-6"/>'),
    "clock": ('<circle cx="12" cy="12" r="10"/><path d="M12 6v6l4 2"/>'),
    "alert": ('<circle cx="12" cy="12" r="10"/><path d="M12 7v6"/><path d="M12 17h.01"/>'),
    "minus-circle": ('<circle cx="12" cy="12" r="10"/><path d="M8 12h8"/>'),
    "dots": (
        '<circle cx="12" cy="5" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="12" cy="19" r="1"/>'
    ),
    "download": (
        '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m7 10 5 5 5-5"/><path d="M12 15V3"/>'
    ),
    "eye": (
        '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>'
    ),
    "card": ('<rect x="2" y="5" width="20" height="14" rx="2"/><path d="M2 10h20"/>'),
    "search": ('<circle cx="11" cy="11" r="7"/><path d="m21 21-4.3-4.3"/>'),
    "logout": (
        '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5"/><path d="M21 12H9"/>'
    ),
    "pencil": ('<path d="M17 3a2.8 2.8 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5z"/>'),
    "trash": (
        '<path d="M3 6h18"/><path d="M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6"/><path d="M8 6V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2"/>'
    ),
    "plus": ('<path d="M12 5v14"/><path d="M5 12h14"/>'),
    "cloud": ('<path d="M17.5 19H9a7 7 0 1 1 6.7-9h1.8a4.5 4.5 0 1 1 0 9z"/>'),
    "arrow-left": ('<path d="m12 19-7-7 7-7"/><path d="M19 12H5"/>'),
}


def svg_icon(name: str, css_class: str = "") -> SafeString:
    """The inline SVG of one icon, hidden from screen readers (the text beside it speaks)."""
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" width="20" height="20" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true" focusable="false">{}</svg>',
        classes,
        mark_safe(ICON_PATHS[name]),
    )
