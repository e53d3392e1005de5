"""What a person sees when logins or reset links are throttled: a plain page that says why and
for how long, readable by everyone (axe finds nothing to fix)."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import violations
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def person(transactional_db):
    return UserFactory(email="dana@example.test")


def submit_login(page, email, password):
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_after_five_wrong_passwords_the_login_is_paused(page, live_server, person, screenshot):
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(4):
        submit_login(page, person.email, "wrong-password")
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email")
    submit_login(page, person.email, "wrong-password")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("paused for 15 minutes")
    screenshot("login-locked-out")
    assert violations(page) == []

    page.get_by_role("link", name="Back to log in").click()
    submit_login(page, person.email, TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    assert page.url.startswith(f"{live_server.url}/accounts/login/")


def test_too_many_reset_links_are_refused_with_a_reason(page, live_server, person, screenshot):
    for _ in range(4):
        page.goto(f"{live_server.url}/accounts/password_reset/")
        page.get_by_label("Email", exact=True).fill(person.email)
        page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many reset links")
    screenshot("password-reset-throttled")
    assert violations(page) == []
