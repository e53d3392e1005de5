"""Request plumbing: which customer the request acts for, and messages for HTMX responses."""

import zoneinfo

from django.contrib import messages
from django.utils import timezone
from django_htmx.http import trigger_client_event

from accounts.access import SESSION_CUSTOMER_KEY
from accounts.selectors import memberships_of


class CurrentCustomerMiddleware:
    """Sets `request.membership`, `request.customer` and `request.memberships`.

    The customer is the one chosen in the session if the user still belongs to it, else the
    user's first. Anonymous users and users without a membership get None. Dates are shown in
    the customer's timezone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.membership = None
        if request.user.is_authenticated:
            request.memberships = memberships_of(request.user)
            chosen = request.session.get(SESSION_CUSTOMER_KEY)
            request.membership = next(
                (m for m in request.memberships if m.customer_id == chosen),
                request.memberships[0] if request.memberships else None,
            )
        request.customer = request.membership.customer if request.membership else None
        if request.customer:
            timezone.activate(zoneinfo.ZoneInfo(request.customer.timezone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class HtmxMessagesMiddleware:
    """Hands pending Django messages to the page as an HX-Trigger event, so that HTMX swaps
    show the same toasts as full page loads (static/js/portal.js listens for "messages")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or 300 <= response.status_code < 400:
            return response
        pending = [
            {"level": message.level_tag, "text": str(message)}
            for message in messages.get_messages(request)
        ]
        if pending:
            trigger_client_event(response, "messages", {"items": pending})
        return response
