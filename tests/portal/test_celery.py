"""A real worker against Redis takes a task from the broker and returns its result."""

import datetime

import pytest
from celery.contrib.testing.worker import start_worker

from billing.models import Invoice
from portal.celery import app
from tests.factories import issued_invoice


@pytest.fixture
def celery_on_redis(redis_url):
    keys = ("broker_url", "result_backend", "task_always_eager")
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(
        broker_url=redis_url,
        result_backend=redis_url,
        task_always_eager=False,
    )
    # Drop any broker connections the app opened with the in-memory settings.
    app.close()
    yield app
    app.conf.update(previous)
    app.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_a_task_sent_through_redis(celery_on_redis, customer):
    late = issued_invoice(
        customer, [("vm", "vCPU-hours", "1", "h", "10")], issue_date=datetime.date(2025, 1, 1)
    )
    with start_worker(celery_on_redis, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = celery_on_redis.send_task("billing.tasks.flag_overdue_invoices")
        assert result.get(timeout=20) == 1
    assert Invoice.objects.get(pk=late.pk).status == "overdue"
