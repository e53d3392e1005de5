from django.utils.translation import gettext_lazy, ngettext_lazy

from core import rendering

# What static/js/portal.js says, handed to it in the page's language (base.html, as JSON).
# The count's two forms suit the languages we speak (one, and anything else).
SCRIPT_TEXTS = {
    "forbidden": gettext_lazy("You do not have permission to do that."),
    "gone": gettext_lazy("That is no longer here. Reload the page."),
    "unreachable": gettext_lazy(
        "The portal could not be reached. Check your connection and try again."
    ),
    "failed": gettext_lazy("Something went wrong (%(status)s). Please try again."),
    "select_invoices": gettext_lazy("Select invoices to download or pay several at once."),
    "selected_one": ngettext_lazy("%(count)s selected", "%(count)s selected", 1),
    "selected_other": ngettext_lazy("%(count)s selected", "%(count)s selected", 2),
}


def portal(request):
    """The current customer and sidebar section for the base layout, heading levels for
    panels that are either a dialog over a page (HTMX: title h2, sections h3) or, loaded
    directly, the page itself (title h1, sections h2), and the script's texts."""
    in_dialog = rendering.in_dialog(request)
    return {
        "customer": getattr(request, "customer", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        "section": request.path.strip("/").split("/", 1)[0],
        "in_dialog": in_dialog,
        "title_tag": "h2" if in_dialog else "h1",
        "section_tag": "h3" if in_dialog else "h2",
        "script_texts": SCRIPT_TEXTS,
    }
