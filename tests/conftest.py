"""Fixtures every test may use: three personas, and the real services some tests need.

A test that needs PostgreSQL, Redis or Chromium skips on a laptop without them, and fails in
CI (CI=true), where all three must be there.
"""

import importlib
import os
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import Membership
from portal.celery import app as celery_app
from tests.factories import CustomerFactory, MembershipFactory
from tests.migrating import migrate_to_latest
from tests.stripe_standin import WEBHOOK_SECRET, StripeStandIn

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Hypothesis sizes, one place for every property test. `ci` (make test, and CI) fits the suite's
# time budget and tries the same examples on every run, so a red build is never luck; `thorough`
# (make test-thorough) tries twenty times as many, new ones each run. The examples of a test share
# its database transaction and fixtures (they are written for it), and the database is slow
# beside what Hypothesis expects: those health checks are off.
hypothesis_settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
hypothesis_settings.register_profile(
    "thorough",
    parent=hypothesis_settings.get_profile("ci"),
    max_examples=500,
    stateful_step_count=40,
    derandomize=False,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def require(available, what: str) -> None:
    """Skip when `what` is missing on a developer machine; fail in CI, where it must exist."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available.")
    pytest.skip(f"{what} is not available here.")


def pytest_collection_modifyitems(items):
    # The second, SQLite pass of `make test` (-m "both_databases and not postgres") leaves out
    # what only PostgreSQL can run.
    for item in items:
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def back_to_latest(transactional_db):
    """For a test that migrates back in time: the latest state again after it."""
    yield
    migrate_to_latest()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    """Tests check what tasks do, in-process even when REDIS_URL is set (as in CI);
    tests/portal/test_celery.py sends one through Redis to a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """`with sent(): client.post(...)` runs what the request queued for after its commit (the
    emails), as a real request's commit would; the test's own transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def media_in_a_temporary_folder(settings, tmp_path):
    # Stored PDFs must not land in the checkout.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def postgres():
    require(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "")
    require(url, "Redis (set REDIS_URL)")
    return url


@pytest.fixture
def default_plan():
    """The default Standard plan and its prices, as the migration makes them. A transactional
    test's flush empties every table: a later one that prices usage asks for them back (after
    its database fixture)."""
    restore_standard_plan()


def restore_standard_plan() -> None:
    """The Standard plan, its prices and its months as the default, as the migrations make them."""
    importlib.import_module("usage.migrations.0001_metering").create_standard_plan(apps, None)
    history = importlib.import_module("usage.migrations.0003_default_plan_history")
    history.record_the_default_so_far(apps, None)


# ---- Personas: an owner, a teammate who may only read, an outsider from another customer ----


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme Cloud AB")


@pytest.fixture
def owner(customer):
    return MembershipFactory(customer=customer, role=Membership.Role.OWNER).user


@pytest.fixture
def viewer(customer):
    return MembershipFactory(customer=customer, role=Membership.Role.VIEWER).user


@pytest.fixture
def outsider(db):
    return MembershipFactory(customer=CustomerFactory(name="Globex Corporation")).user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# ---- Stripe: a local stand-in for its API; nothing leaves the machine ----


@pytest.fixture
def stripe_standin(settings):
    standin = StripeStandIn().start()
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield standin
    standin.stop()


# ---- Browser: Debian's Chromium driven by Playwright ----

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")
    require(chromium, "Debian's chromium (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Users who ask for reduced motion get no slide or fade (the CSS honours it); tests ask too,
    # so that what they measure is the page at rest, not a frame of an animation.
    return {**browser_context_args, "reduced_motion": "reduce"}


def wait_until_settled(page) -> None:
    """Wait until every finite animation and transition on the page has finished: axe and
    screenshots must see the colours a user reads, not a frame of a fade."""
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
            .map(a => a.finished.catch(() => null)))"""
    )


@pytest.fixture
def screenshot(page):
    """Save a PNG under test-artifacts/ to look at after the run: the whole page, or only the
    viewport where a dialog covers it."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(name: str, *, full_page: bool = True) -> Path:
        wait_until_settled(page)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, full_page=full_page, animations="disabled")
        return path

    return save
