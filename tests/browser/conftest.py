import pytest
from django.core.management import call_command


@pytest.fixture
def demo(transactional_db, django_db_serialized_rollback):
    """The README's demo data, committed so that the live server thread sees it. Its usage is
    priced by the default plan, which a migration made and the previous test's flush removed:
    the serialized rollback puts it back first."""
    call_command("seed_demo")


@pytest.fixture
def log_in(page, live_server):
    def log_in(email="demo@example.com", password="demo1234"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/dashboard/")

    return log_in
