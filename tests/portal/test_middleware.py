"""What browsers and proxies may keep (Cache-Control), how long an idle login lasts, and which
browser features pages may use (Permissions-Policy)."""

import datetime

import pytest
import time_machine
from django.contrib.sessions.models import Session

from tests.factories import issued_invoice
from tests.htmx import HTMX

LINES = [("k8s-prod", "vCPU-hours", "10", "vCPU-h", "0.5")]
START = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def is_private_no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


@pytest.fixture
def invoice(customer):
    return issued_invoice(customer, LINES)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/dashboard/", {}),
        ("/invoices/", {}),
        ("/invoices/?status=unpaid", HTMX),
        ("/invoices/{number}/", {}),
        ("/invoices/{number}/", HTMX),
        ("/invoices/{number}/pay/", {}),
        ("/usage/", {}),
        ("/account/?tab=contact", {}),
        ("/accounts/password_change/", {}),
    ],
)
def test_every_logged_in_page_is_private_and_not_stored(owner_client, invoice, path, headers):
    response = owner_client.get(path.format(number=invoice.number), **headers)
    assert response.status_code == 200
    assert is_private_no_store(response), response.get("Cache-Control")


@pytest.mark.parametrize("query", ["", "?download=1"])
def test_an_invoice_pdf_is_private_and_not_stored(owner_client, invoice, query):
    response = owner_client.get(f"/invoices/{invoice.number}/pdf/{query}")
    assert response["Content-Type"] == "application/pdf"
    assert is_private_no_store(response)


def test_a_zip_of_invoices_is_private_and_not_stored(owner_client, invoice):
    response = owner_client.get(f"/invoices/zip/?number={invoice.number}")
    assert response["Content-Type"] == "application/zip"
    assert is_private_no_store(response)


def test_a_redirect_after_a_logged_in_post_is_private_too(owner_client, customer):
    response = owner_client.post("/account/switch/", {"customer": customer.pk})
    assert response.status_code == 302
    assert is_private_no_store(response)


def test_static_files_stay_cacheable_for_a_logged_in_user(owner_client):
    response = owner_client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert not is_private_no_store(response)


@pytest.mark.django_db
def test_an_anonymous_page_is_left_to_its_view(client):
    # The home page only redirects to the login; nothing private is in it.
    response = client.get("/")
    assert response.status_code == 302
    assert "no-store" not in response.get("Cache-Control", "")


# ---- Idle sessions: SESSION_IDLE_MINUTES (30 by default) ----


def test_a_login_idle_for_longer_than_the_limit_is_over(client, owner):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(owner)
        assert client.get("/dashboard/").status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_activity_keeps_a_login_alive_past_the_limit(client, owner):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(owner)
        for _ in range(4):  # two hours in all, never idle for 30 minutes
            clock.shift(datetime.timedelta(minutes=29))
            assert client.get("/dashboard/").status_code == 200
        clock.shift(datetime.timedelta(minutes=30, seconds=1))
        assert client.get("/dashboard/").status_code == 302


def test_the_limit_follows_the_setting(client, owner, settings):
    settings.SESSION_COOKIE_AGE = 10 * 60
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(owner)
        clock.shift(datetime.timedelta(minutes=9))
        assert client.get("/dashboard/").status_code == 200
        clock.shift(datetime.timedelta(minutes=11))
        assert client.get("/dashboard/").status_code == 302


def test_the_session_is_written_at_most_once_a_minute(client, owner):
    def expiry():
        return Session.objects.get().expire_date

    with time_machine.travel(START, tick=False) as clock:
        client.force_login(owner)
        at_login = expiry()
        clock.shift(datetime.timedelta(seconds=50))
        client.get("/dashboard/")
        assert expiry() == at_login
        clock.shift(datetime.timedelta(seconds=20))
        client.get("/dashboard/")
        assert expiry() == at_login + datetime.timedelta(seconds=70)


# ---- Browser features ----

NO_FEATURES = "camera=(), microphone=(), geolocation=(), payment=()"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/login/", 302),  # a redirect too: the user is logged in
        ("/dashboard/", 200),
        ("/invoices/{number}/pay/", 200),
        ("/invoices/{number}/pdf/", 200),
        ("/static/css/portal.css", 200),  # answered by WhiteNoise
        ("/healthz", 200),
        ("/invoices/INV-1999-9999/", 404),
        ("/admin/login/", 200),
    ],
)
def test_every_response_switches_off_camera_microphone_location_and_payment(
    owner_client, invoice, path, status
):
    response = owner_client.get(path.format(number=invoice.number))
    assert response.status_code == status
    assert response["Permissions-Policy"] == NO_FEATURES
