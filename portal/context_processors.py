from accounts import rendering


def portal(request):
    """The current customer and sidebar section for the base layout, and heading levels for
    panels that are either a dialog over a page (HTMX: title h2, sections h3) or, loaded
    directly, the page itself (title h1, sections h2)."""
    in_dialog = rendering.in_dialog(request)
    return {
        "customer": getattr(request, "customer", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        "section": request.path.strip("/").split("/", 1)[0],
        "in_dialog": in_dialog,
        "title_tag": "h2" if in_dialog else "h1",
        "section_tag": "h3" if in_dialog else "h2",
    }
