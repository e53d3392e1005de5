import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from tests.conftest import wait_until_settled
from tests.snapshot import TableSnapshot


def violations(page) -> list[str]:
    """What axe-core finds to fix on the page at rest."""
    wait_until_settled(page)
    # Violations only: axe skips writing up what passed, about half its time on a big page.
    result = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']}: {v['help']} at {[node['target'] for node in v['nodes'][:3]]}"
        for v in result.response["violations"]
    ]


@pytest.fixture(scope="session")
def demo_snapshot() -> TableSnapshot:
    return TableSnapshot()


@pytest.fixture
def demo(transactional_db, default_plan, demo_snapshot):
    """The README's demo data, committed so that the live server thread sees it, its usage
    priced by the default plan: seeded by the first test that asks, restored from its copy for
    the others (tests/snapshot.py)."""
    if demo_snapshot.taken:
        demo_snapshot.restore()
    else:
        call_command("seed_demo")
        demo_snapshot.take()


@pytest.fixture
def log_in(page, live_server):
    def log_in(email="demo@example.com", password="demo1234"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/dashboard/")

    return log_in
