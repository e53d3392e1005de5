"""Throttles. For logins, what django-axes calls (settings name these functions): which
account a login is for, which client sends it, and what a refused login shows. For password
reset links, a count per typed address and per client address in the database."""

import datetime
import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone

from accounts.models import PasswordResetRequest

# Reset links asked for within the window, per typed address and per client address. A person
# who mistypes needs a few; a client asking for more is probing addresses or flooding inboxes.
RESET_WINDOW = datetime.timedelta(hours=1)
RESETS_PER_ADDRESS = 3
RESETS_PER_CLIENT = 10


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, unless CLIENT_IP_HEADER names the header a trusted
    proxy sets. Then the address TRUSTED_PROXY_COUNT entries from the right of that header,
    which the outermost of our proxies wrote; entries further left come from the client and
    may be forged. A missing or malformed header falls back to REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not settings.CLIENT_IP_HEADER:
        return remote
    hops = [hop.strip() for hop in request.META.get(settings.CLIENT_IP_HEADER, "").split(",")]
    if len(hops) < settings.TRUSTED_PROXY_COUNT:
        return remote
    candidate = hops[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# The longest username axes records a failure for. No account has a longer one (an email is at
# most 254 characters), but the login form lets any length through to authenticate(); uncut,
# PostgreSQL refuses the failure record and the login answers 500.
USERNAME_KEPT = AccessAttempt._meta.get_field("username").max_length


def login_username(request, credentials: dict | None) -> str | None:
    """The account a login is for, as the user table matches it (case and spaces aside), so
    that `Dana@Example.com ` and `dana@example.com` share one failure count."""
    source = credentials or request.POST
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    return username.strip().lower()[:USERNAME_KEPT] if isinstance(username, str) else None


class LoginFailureHandler(AxesDatabaseHandler):
    """Axes' database handler, counting the client address by the accounts it failed on.

    Axes sums failures per lockout parameter. For the pair (account, address) that is right;
    for the address alone it would let one person who mistypes their own password lock out
    every colleague behind the same office address. An address is locked once it has failed on
    AXES_FAILURE_LIMIT different accounts instead: someone trying many accounts.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # The querysets follow settings.AXES_LOCKOUT_PARAMETERS: the pair, then the address.
        pair, address = self.get_user_attempts(request, credentials)
        failures = pair.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
        accounts = address.order_by().values("username").distinct().count()
        return max(failures, accounts)


def locked_out(request, original_response=None, credentials=None):
    """The answer to any login while its account (from that client) or its client is locked
    out: the same page for a known account and an unknown one, for the right password and a
    wrong one."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"minutes": minutes, "login_url": request.get_full_path()}
    return render(request, "registration/locked_out.html", context, status=429)


@transaction.atomic
def password_reset_request(*, email: str, ip_address: str | None) -> PasswordResetRequest | None:
    """Record a request for a reset link to `email`, to be sent: None, and nothing recorded,
    when that address or that client asked too often within RESET_WINDOW. Addresses without
    an account count alike, so the answer tells nobody who has one."""
    now = timezone.now()
    recent = PasswordResetRequest.objects.filter(requested_at__gte=now - RESET_WINDOW)
    # Older ones are forgotten, once sent: an unsent one waits for the sweep (accounts/tasks.py).
    PasswordResetRequest.objects.filter(requested_at__lt=now - RESET_WINDOW).exclude(
        sent_at=None
    ).delete()
    email = email.strip().lower()
    if (
        recent.filter(email=email).count() >= RESETS_PER_ADDRESS
        or recent.filter(ip_address=ip_address).count() >= RESETS_PER_CLIENT
    ):
        return None
    return PasswordResetRequest.objects.create(email=email, ip_address=ip_address, requested_at=now)
