"""The seam between workflows and Celery: jobs named by workflows exist, run after commit, and a
broker that is down loses the job to the sweeps instead of failing the request."""

import logging

import pytest
from celery import current_app
from kombu.exceptions import OperationalError

from accounts import jobs as accounts_jobs
from billing import jobs as billing_jobs


@pytest.mark.parametrize("module", [accounts_jobs, billing_jobs])
def test_every_job_name_is_a_registered_task(module):
    names = [value for key, value in vars(module).items() if key.isupper() and "." in str(value)]
    assert names and all(name in current_app.tasks for name in names)


def test_a_job_runs_only_once_the_transaction_commits(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    ran = []
    monkeypatch.setattr(
        current_app.tasks[billing_jobs.RENDER_PDF],
        "apply_async",
        lambda args, **options: ran.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        billing_jobs.after_commit(billing_jobs.RENDER_PDF, 7)
        assert ran == []
    assert ran == [(7,)]


def test_with_the_broker_down_the_job_is_logged_and_the_caller_carries_on(
    db, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(args, **options):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(current_app.tasks[billing_jobs.RENDER_PDF], "apply_async", broker_down)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        billing_jobs.after_commit(billing_jobs.RENDER_PDF, 7)
    assert "left for the sweep" in caplog.text and "render_invoice_pdf" in caplog.text
