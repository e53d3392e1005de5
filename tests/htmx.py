"""HTMX requests for Django's test client, with the headers htmx sends:
`client.get(url, **HTMX)`, or `**htmx("sheet-content")` for a swap into the sheet."""


def htmx(target: str | None = None, *, history_restore: bool = False) -> dict[str, str]:
    """An HTMX request's headers (as the test client's WSGI keys): the element it swaps into,
    and whether it is the browser's Back restoring a page htmx no longer holds."""
    headers = {"HTTP_HX_REQUEST": "true"}
    if target:
        headers["HTTP_HX_TARGET"] = target
    if history_restore:
        headers["HTTP_HX_HISTORY_RESTORE_REQUEST"] = "true"
    return headers


HTMX = htmx()
