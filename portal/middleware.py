"""Request plumbing: requests carrying a NUL character, the language of the page, which customer
the request acts for, messages for HTMX responses, idle sessions, what browsers and proxies may
keep, and which browser features pages may use."""

import time
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.http import trigger_client_event

from accounts.access import SESSION_CUSTOMER_KEY
from accounts.selectors import memberships_of


class RefuseNulMiddleware:
    """No view sees a NUL character (`%00`) from the address or a form: PostgreSQL cannot store
    or compare text holding one (SQLite lets it through), so a search, an invoice number or a
    selection carrying it ended in a server error. One guard here rather than a check in every
    view and in the admin: a path with a NUL names no page (404); a parameter with one gets a
    page saying what was wrong (400). No browser sends a NUL from a typed field; forms refuse it
    anyway, this only decides how early.

    After the language is chosen, so that the refusal speaks the user's language. Views that
    read their own raw body (CSRF-exempt: the Stripe webhook, the usage API) validate it
    themselves: parsing it here as a form would consume it."""

    NUL = "\x00"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if self.NUL in request.path:
            raise Http404("The address holds a NUL character.")
        reads_form = request.method == "POST" and not getattr(view_func, "csrf_exempt", False)
        if self._has_nul(request.GET) or (reads_form and self._has_nul(request.POST)):
            return render(request, "portal/nul_refused.html", status=400)
        return None

    @classmethod
    def _has_nul(cls, params) -> bool:
        return any(
            cls.NUL in key or any(cls.NUL in value for value in values)
            for key, values in params.lists()
        )


class LanguageMiddleware:
    """Speaks the language a logged-in user chose (Settings tab, `User.language`); without a
    login (the login page, emailed links) the one the browser asks for, as Django's
    LocaleMiddleware would choose it (Accept-Language), else LANGUAGE_CODE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            language = request.user.language
        else:
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", translation.get_language())
        finally:
            translation.deactivate()
        patch_vary_headers(response, ["Accept-Language"])
        return response


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
    show the same toasts as full page loads (static/js/portal.js listens for "messages").
    A redirect, or an answer that tells htmx to load another page (HX-Redirect, HX-Refresh),
    leaves them for the page that follows."""

    LEAVES_THE_PAGE = ("HX-Redirect", "HX-Refresh")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or 300 <= response.status_code < 400
            or any(header in response.headers for header in self.LEAVES_THE_PAGE)
        ):
            return response
        pending = [
            {"level": message.level_tag, "text": str(message)}
            for message in messages.get_messages(request)
        ]
        if pending:
            trigger_client_event(response, "messages", {"items": pending})
        return response


class SessionIdleMiddleware:
    """Ends a login after SESSION_COOKIE_AGE seconds without a request (SESSION_IDLE_MINUTES).

    Django moves a session's expiry on whenever it saves the session. Saving on every request
    would write to the database on every page view, so a logged-in session is saved at most
    once a minute: the idle limit holds to within that minute.
    """

    TOUCHED = "_touched"
    TOUCH_EVERY = 60  # seconds

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if SESSION_KEY in request.session:
            now = int(time.time())
            if now - request.session.get(self.TOUCHED, 0) >= self.TOUCH_EVERY:
                request.session[self.TOUCHED] = now
        return self.get_response(request)

    @classmethod
    def touch_on_login(cls, sender, request, user, **kwargs):
        """Connected to user_logged_in: the login saves the session anyway, so the requests of
        the next minute need not."""
        request.session[cls.TOUCHED] = int(time.time())


class PrivateResponseMiddleware:
    """`Cache-Control: private, no-store` on every response to a logged-in user and on every PDF
    or ZIP: a customer's invoices must stay in no shared proxy's cache and on no shared
    computer's disk. The login page is for anonymous users; WhiteNoise answers static files
    before this middleware runs."""

    PRIVATE_TYPES = ("application/pdf", "application/zip")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated or response.get("Content-Type", "").startswith(
            self.PRIVATE_TYPES
        ):
            patch_cache_control(response, private=True, no_store=True)
        return response


class PermissionsPolicyMiddleware:
    """`Permissions-Policy: settings.PERMISSIONS_POLICY` on every response, static files and
    errors included (it sits outside WhiteNoise), unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
