"""Failed logins are throttled per account and client address together, and per address that
tries many accounts (portal and admin); reset links per address and per client. Neither ever
tells whether an account exists, and nobody can lock an account for its owner elsewhere."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import RequestFactory

from accounts.models import PasswordResetRequest
from accounts.throttle import client_ip
from tests.factories import TEST_PASSWORD, UserFactory

LIMIT = 5  # LOGIN_FAILURE_LIMIT's default
LOGIN, ADMIN_LOGIN, RESET = "/accounts/login/", "/admin/login/", "/accounts/password_reset/"
LOCKED = "Logging in with this email address, or from your network, is paused for 15 minutes"
START = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def attempt(client, email, password, *, ip="198.51.100.7", path=LOGIN, **headers):
    return client.post(
        path, {"username": email, "password": password}, REMOTE_ADDR=ip, headers=headers
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, email, times, **where):
    return [attempt(client, email, "wrong-password", **where).status_code for _ in range(times)]


def visible(response) -> str:
    """What an attacker reads, less what differs on every response (CSRF token, CSP nonce)."""
    text = response.content.decode()
    return re.sub(r'(csrfmiddlewaretoken" value="|"x-csrftoken": "|nonce=")[^"]+', r"\1…", text)


# ---- Per account, from one address ----


def test_after_repeated_failures_the_right_password_is_refused_too(client, owner):
    assert fail(client, owner.email, LIMIT - 1) == [200] * (LIMIT - 1)
    assert fail(client, owner.email, 1) == [429]
    response = attempt(client, owner.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in(client)


def test_an_attacker_cannot_lock_the_account_for_its_owner_elsewhere(client, owner):
    assert fail(client, owner.email, LIMIT, ip="203.0.113.66")[-1] == 429
    assert attempt(client, owner.email, TEST_PASSWORD, ip="203.0.113.66").status_code == 429
    assert not logged_in(client)
    assert attempt(client, owner.email, TEST_PASSWORD, ip="192.0.2.99").status_code == 302
    assert logged_in(client)


def test_failures_spread_over_addresses_lock_no_one(client, owner):
    for n in range(2 * LIMIT):
        fail(client, owner.email, 1, ip=f"203.0.113.{n + 1}")
    assert attempt(client, owner.email, TEST_PASSWORD, ip="203.0.113.1").status_code == 302


def test_a_colleague_behind_the_same_address_still_logs_in(client, owner, viewer):
    office = "198.51.100.20"
    fail(client, owner.email, LIMIT, ip=office)
    assert attempt(client, owner.email, TEST_PASSWORD, ip=office).status_code == 429
    assert attempt(client, viewer.email, TEST_PASSWORD, ip=office).status_code == 302


def test_case_and_spaces_do_not_make_a_new_account(client, owner):
    variants = [owner.email.upper(), f" {owner.email}", owner.email.title(), f"{owner.email} "]
    for variant in [*variants, owner.email]:
        fail(client, variant, 1)
    assert attempt(client, owner.email, TEST_PASSWORD).status_code == 429


def test_a_locked_out_attacker_cannot_tell_real_accounts_from_unknown_ones(client, owner):
    def probe(email, ip):
        codes = fail(client, email, LIMIT, ip=ip)
        # Then the right password for the real account, a plausible one for the unknown.
        final = attempt(client, email, TEST_PASSWORD, ip=ip)
        return codes, final

    real_codes, real = probe(owner.email, "203.0.113.10")
    ghost_codes, ghost = probe("nobody@example.test", "203.0.113.20")
    assert real_codes == ghost_codes == [200] * (LIMIT - 1) + [429]
    assert real.status_code == ghost.status_code == 429
    assert visible(real).replace(owner.email, "X") == visible(ghost).replace(
        "nobody@example.test", "X"
    )
    assert owner.email not in real.content.decode()


def test_before_the_lock_a_wrong_password_and_an_unknown_account_read_the_same(client, owner):
    real = attempt(client, owner.email, "wrong-password", ip="203.0.113.10")
    ghost = attempt(client, "nobody@example.test", "wrong-password", ip="203.0.113.20")
    assert real.status_code == ghost.status_code == 200
    assert "Please enter a correct email address and password" in real.content.decode()
    assert visible(real).replace(owner.email, "X") == visible(ghost).replace(
        "nobody@example.test", "X"
    )


def test_the_lock_expires_after_the_cool_off(client, owner):
    with time_machine.travel(START, tick=False) as clock:
        fail(client, owner.email, LIMIT)
        clock.shift(datetime.timedelta(minutes=15, seconds=1))
        response = attempt(client, owner.email, TEST_PASSWORD)
        assert response.status_code == 302
        assert logged_in(client)


def test_a_try_during_the_lock_starts_the_cool_off_again(client, owner):
    with time_machine.travel(START, tick=False) as clock:
        fail(client, owner.email, LIMIT)
        clock.shift(datetime.timedelta(minutes=14))
        assert attempt(client, owner.email, TEST_PASSWORD).status_code == 429
        clock.shift(datetime.timedelta(minutes=2))  # 16 minutes after the last failure
        assert attempt(client, owner.email, TEST_PASSWORD).status_code == 429
        clock.shift(datetime.timedelta(minutes=15, seconds=1))
        assert attempt(client, owner.email, TEST_PASSWORD).status_code == 302


def test_the_lock_follows_the_settings(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=60)
    with time_machine.travel(START, tick=False) as clock:
        assert fail(client, owner.email, 2) == [200, 429]
        response = attempt(client, owner.email, TEST_PASSWORD)
        assert "paused for 60 minutes" in response.content.decode()
        clock.shift(datetime.timedelta(minutes=61))
        assert attempt(client, owner.email, TEST_PASSWORD).status_code == 302


# ---- Per client address ----


def test_one_address_trying_many_accounts_is_locked_out(client, owner):
    codes = [fail(client, f"guess{n}@example.test", 1, ip="203.0.113.66")[0] for n in range(LIMIT)]
    assert codes == [200] * (LIMIT - 1) + [429]
    assert attempt(client, owner.email, TEST_PASSWORD, ip="203.0.113.66").status_code == 429
    assert attempt(client, owner.email, TEST_PASSWORD, ip="203.0.113.67").status_code == 302


def test_a_forged_forwarded_for_header_does_not_reset_the_address_count(client, owner):
    for n in range(LIMIT):
        fail(client, f"guess{n}@example.test", 1, X_Forwarded_For=f"10.9.8.{n}")
    assert attempt(client, owner.email, TEST_PASSWORD, X_Forwarded_For="10.9.8.77").status_code == (
        429
    )


def test_behind_a_configured_proxy_each_client_counts_on_its_own(client, owner, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    proxy = "10.0.0.2"
    for n in range(LIMIT):
        fail(client, f"guess{n}@example.test", 1, ip=proxy, X_Forwarded_For="203.0.113.66")
    locked = attempt(client, owner.email, TEST_PASSWORD, ip=proxy, X_Forwarded_For="203.0.113.66")
    assert locked.status_code == 429
    other = attempt(client, owner.email, TEST_PASSWORD, ip=proxy, X_Forwarded_For="203.0.113.67")
    assert other.status_code == 302


def request_from(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("header", "count", "forwarded", "expected"),
    [
        ("", 1, "203.0.113.5", "10.0.0.2"),  # no proxy configured: the header is the client's
        ("HTTP_X_FORWARDED_FOR", 1, "203.0.113.5", "203.0.113.5"),
        ("HTTP_X_FORWARDED_FOR", 1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # forged left part
        ("HTTP_X_FORWARDED_FOR", 2, "6.6.6.6, 203.0.113.5, 10.0.0.1", "203.0.113.5"),
        ("HTTP_X_FORWARDED_FOR", 2, "203.0.113.5", "10.0.0.2"),  # fewer hops than proxies
        ("HTTP_X_FORWARDED_FOR", 1, None, "10.0.0.2"),  # not through the proxy
        ("HTTP_X_FORWARDED_FOR", 1, "not-an-address", "10.0.0.2"),
        ("HTTP_X_FORWARDED_FOR", 1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_comes_from_a_header_only_when_configured(
    settings, header, count, forwarded, expected
):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = header, count
    assert client_ip(request_from("10.0.0.2", forwarded)) == expected


# ---- The admin's login ----


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.test", is_staff=True, is_superuser=True)


def test_the_admin_login_is_throttled_too(client, staff):
    codes = fail(client, staff.email, LIMIT, path=ADMIN_LOGIN)
    assert codes == [200] * (LIMIT - 1) + [429]
    response = attempt(client, staff.email, TEST_PASSWORD, path=ADMIN_LOGIN)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_failures_on_the_portal_and_the_admin_add_up(client, staff):
    fail(client, staff.email, 3, path=LOGIN)
    fail(client, staff.email, 2, path=ADMIN_LOGIN)
    assert attempt(client, staff.email, TEST_PASSWORD, path=ADMIN_LOGIN).status_code == 429


# ---- Password reset links ----


@pytest.fixture
def ask(client, sent):
    """Ask for a reset link, and run the task that mails it once the request has committed."""

    def ask(email, *, ip="198.51.100.7"):
        with sent():
            return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)

    return ask


TOO_MANY = "Too many reset links were asked for this address or from your network"


def test_reset_links_are_limited_per_address_and_the_limit_says_so(ask, owner):
    codes = [ask(owner.email, ip=f"203.0.113.{n}").status_code for n in range(1, 5)]
    assert codes == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    refused = ask(owner.email.upper(), ip="203.0.113.9")
    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert len(mail.outbox) == 3
    assert PasswordResetRequest.objects.filter(email=owner.email).count() == 3


def test_the_reset_throttle_says_the_same_for_unknown_addresses(ask, owner):
    def probe(email, ip):
        return [ask(email, ip=ip) for _ in range(4)]

    real = probe(owner.email, "203.0.113.10")
    ghost = probe("nobody@example.test", "203.0.113.20")
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [302] * 3 + [429]
    assert [r["Location"] for r in real[:3]] == [r["Location"] for r in ghost[:3]]
    assert visible(real[3]).replace(owner.email, "X") == visible(ghost[3]).replace(
        "nobody@example.test", "X"
    )


def test_reset_links_are_limited_per_client_address(ask, owner):
    codes = [ask(f"someone{n}@example.test").status_code for n in range(10)]
    assert codes == [302] * 10
    assert ask(owner.email).status_code == 429
    assert mail.outbox == []
    assert ask(owner.email, ip="198.51.100.8").status_code == 302
    assert len(mail.outbox) == 1


def test_the_reset_limit_lifts_after_an_hour(ask, owner):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            ask(owner.email)
        assert ask(owner.email).status_code == 429
        clock.shift(datetime.timedelta(minutes=61))
        assert ask(owner.email).status_code == 302
        assert PasswordResetRequest.objects.count() == 1  # the old ones were cleared


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@c", "x" * 300 + "@example.test"])
def test_an_invalid_reset_request_is_refused_and_counts_for_nothing(ask, email):
    response = ask(email)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode() or "Enter a valid" in (
        response.content.decode()
    )
    assert not PasswordResetRequest.objects.exists()
    assert mail.outbox == []
