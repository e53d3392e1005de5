"""One URL, two renderings, for every app (the bottom app holds it so that all may use it): a
view renders its whole page, or for an HTMX swap only the `{% partialdef %}` fragment of it."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers

# Where the base layout opens panels over the page: the slide-over sheet and the modal dialog.
DIALOG_TARGETS = {"sheet-content", "modal-content"}


def in_dialog(request) -> bool:
    """Rendered into the sheet or the modal, where the panel's title is an h2 under the page's
    h1. Decided by the swap's target: a tab switched on the full page stays the page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target in DIALOG_TARGETS


def render_page(request, template: str, context: dict, *, fragment: str, status: int = 200):
    """`template`, or only its `fragment` for an HTMX swap; a history restore (the browser's
    Back after a swap, with the page gone from htmx's cache) gets the whole page. Caches learn
    that the answer depends on HX-Request."""
    swap = request.htmx and not request.htmx.history_restore_request
    response = render(
        request, f"{template}#{fragment}" if swap else template, context, status=status
    )
    patch_vary_headers(response, ["HX-Request"])
    return response
