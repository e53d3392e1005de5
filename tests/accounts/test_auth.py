"""Logging in and out, and getting back in with a password reset link."""

import re

import pytest
from django.core import mail

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


def test_password_reset_mail_link_sets_a_new_password(client, owner):
    response = client.post("/accounts/password_reset/", {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

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
def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_a_used_reset_link_does_not_work_twice(client, owner):
    client.post("/accounts/password_reset/", {"email": owner.email})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "N3w-sturdy-pass", "new_password2": "N3w-sturdy-pass"})
    again = client.get(link, follow=True)
    assert "This link has expired" in again.content.decode()
