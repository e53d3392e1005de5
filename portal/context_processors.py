def portal(request):
    """The current customer and sidebar section for the base layout."""
    return {
        "customer": getattr(request, "customer", None),
        "membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        "section": request.path.strip("/").split("/", 1)[0],
    }
