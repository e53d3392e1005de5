"""Logging in and out, and getting back in with a password reset link."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.signals import request_started
from django.db import connection
from django.test import RequestFactory
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext

from accounts.models import PasswordResetRequest
from accounts.tasks import send_password_reset
from tests.factories import TEST_PASSWORD


def test_login_with_email_and_password_lands_on_the_dashboard(client, owner, customer):
    response = client.post(
        "/accounts/login/", {"username": owner.email.upper(), "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert customer.name in page.content.decode()


def test_the_login_email_field_is_an_email_field_that_password_managers_fill(client):
    page = client.get("/accounts/login/").content.decode()
    field = re.search(r'<input[^>]*name="username"[^>]*>', page)[0]
    assert 'type="email"' in field and 'autocomplete="username"' in field


def test_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post("/accounts/login/", {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_keeps_the_page_asked_for(client, owner):
    response = client.get("/account/?tab=contact")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/%3Ftab%3Dcontact"
    response = client.post(
        "/accounts/login/?next=/account/%3Ftab%3Dcontact",
        {"username": owner.email, "password": TEST_PASSWORD, "next": "/account/?tab=contact"},
    )
    assert response["Location"] == "/account/?tab=contact"


def test_login_refuses_to_redirect_off_site(client, owner):
    response = client.post(
        "/accounts/login/",
        {"username": owner.email, "password": TEST_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/dashboard/"


def test_logout_ends_the_session(owner_client):
    response = owner_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert owner_client.get("/dashboard/").status_code == 302


RESET = "/accounts/password_reset/"


def reset_link(message) -> str:
    """The path of the reset link in a reset mail, which points at the portal's SITE_URL."""
    site = re.escape(settings.SITE_URL)
    return re.search(rf"{site}(/accounts/reset/\S+/)", message.body).group(1)


def test_password_reset_mail_link_sets_a_new_password(client, owner, sent):
    with sent():
        response = client.post(RESET, {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == "Choose a new password for the Billing Portal"
    link = reset_link(message)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "N3w-sturdy-pass", "new_password2": "N3w-sturdy-pass"}
    )
    assert done.status_code == 302

    old = client.post("/accounts/login/", {"username": owner.email, "password": TEST_PASSWORD})
    assert old.status_code == 200
    new = client.post("/accounts/login/", {"username": owner.email, "password": "N3w-sturdy-pass"})
    assert new.status_code == 302


@pytest.mark.django_db
def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, sent):
    with sent():
        response = client.post(RESET, {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []
    assert PasswordResetRequest.objects.get().sent_at is not None  # handled: nothing to send


def test_the_reset_request_sends_nothing_itself_a_task_does_after_commit(
    client, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as after_commit:
        response = client.post(RESET, {"email": owner.email})
    assert response.status_code == 302
    assert mail.outbox == []
    assert PasswordResetRequest.objects.get().sent_at is None

    (job,) = after_commit
    job()  # the commit's task, as a worker runs it
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert PasswordResetRequest.objects.get().sent_at is not None
    send_password_reset(PasswordResetRequest.objects.get().pk)  # a second delivery of the task
    assert len(mail.outbox) == 1


def test_known_and_unknown_addresses_cost_the_request_the_same_work(
    client, owner, django_capture_on_commit_callbacks
):
    def request(email):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks() as after_commit,
        ):
            response = client.post(RESET, {"email": email}, REMOTE_ADDR="203.0.113.5")
        return response.status_code, response["Location"], len(queries), len(after_commit)

    assert request(owner.email) == request("nobody@example.test")
    assert mail.outbox == []


def test_the_reset_mail_speaks_the_language_its_user_reads_the_portal_in(client, owner, sent):
    owner.language = "sv"
    owner.save(update_fields=["language"])
    with sent():
        client.post(RESET, {"email": owner.email}, headers={"accept-language": "en"})
    (message,) = mail.outbox
    assert message.subject == "Välj ett nytt lösenord för kundportalen"


def test_a_used_reset_link_does_not_work_twice(client, owner, sent):
    with sent():
        client.post(RESET, {"email": owner.email})
    link = reset_link(mail.outbox[0])
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "N3w-sturdy-pass", "new_password2": "N3w-sturdy-pass"})
    again = client.get(link, follow=True)
    assert "This link has expired" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_reset_link_is_mailed_only_after_the_response_went_out(owner):
    # What a WSGI server does: start the request, have the whole response, send it, close it.
    # Tasks run in this process (no broker), as in every test.
    handler = ClientHandler()
    handler.load_middleware()
    request = RequestFactory().post(RESET, {"email": owner.email}, REMOTE_ADDR="203.0.113.5")
    request._dont_enforce_csrf_checks = True  # as the test client does
    request_started.send(sender=ClientHandler, environ=request.environ)
    response = handler.get_response(request)
    assert response.status_code == 302
    assert mail.outbox == []  # the answer is complete and nothing was sent while it was made
    response.close()
    assert [m.to for m in mail.outbox] == [[owner.email]]
