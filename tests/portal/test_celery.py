"""Real workers against Redis: one takes a task from the broker and returns its result; one
killed in the middle of a PDF loses nothing, and the PDF is made exactly once."""

import datetime
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.db import connection

from billing.models import Invoice, InvoiceEvent
from billing.tasks import RETRY, render_invoice_pdf, send_invoice_email
from portal.celery import app
from tests.concurrency import wait_until
from tests.factories import issued_invoice
from tests.portal.brokers import celery_using

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_on_redis(redis_url):
    with celery_using(redis_url) as celery_app:
        yield celery_app


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_a_task_sent_through_redis(celery_on_redis, customer):
    late = issued_invoice(
        customer, [("vm", "vCPU-hours", "1", "h", "10")], issue_date=datetime.date(2025, 1, 1)
    )
    with start_worker(celery_on_redis, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = celery_on_redis.send_task("billing.tasks.flag_overdue_invoices")
        assert result.get(timeout=20) == 1
    assert Invoice.objects.get(pk=late.pk).status == "overdue"


# ---- Workers that lose nothing ----


def test_tasks_are_acknowledged_late_and_limited_in_time():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    # A message unacknowledged for this long goes to another worker: it must outlast the
    # longest task and the longest retry countdown, which a worker also holds unacknowledged,
    # and no more than that with a margin, so that a killed worker's task runs again within a
    # quarter of an hour, not Redis' default hour.
    longest_hold = conf.task_time_limit + RETRY["retry_backoff_max"]
    assert longest_hold < conf.broker_transport_options["visibility_timeout"] <= 15 * 60


def test_pdf_tasks_retry_with_backoff_and_email_tasks_leave_it_to_the_sweep():
    task = render_invoice_pdf
    assert task.autoretry_for
    assert (task.retry_backoff, task.retry_jitter, task.max_retries) == (30, True, 6)
    # A failed send is recorded and tried again by the next sweep (tests/portal/
    # test_mail_never_lost.py); retrying in the task too would count one failure many times.
    assert not getattr(send_invoice_email, "autoretry_for", ())


class Workers:
    """Worker processes (tests/portal/celery_worker.py) on a queue of the test's own, against
    the test's database, Redis and media folder."""

    def __init__(self, redis_url: str, media_root, logs):
        self.queue = f"test-pdf-{uuid.uuid4().hex[:12]}"
        self.redis = redis.Redis.from_url(redis_url)
        self.logs = logs
        self.processes = []
        db = connection.settings_dict
        self.environment = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": (
                f"postgres://{quote(db['USER'] or '', safe='')}:"
                f"{quote(db['PASSWORD'] or '', safe='')}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": redis_url,
            "MEDIA_ROOT": str(media_root),
        }

    def start(self, **switches: str) -> subprocess.Popen:
        log = (self.logs / f"worker-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.portal.celery_worker", self.queue],
            cwd=ROOT,
            env={**self.environment, **switches},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the worker and its pool
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL to the worker and its pool at once, as a crash or the OOM killer would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def messages_left(self) -> int:
        """Copies of the test's messages still queued or held unacknowledged by a worker."""
        queued = self.redis.llen(self.queue)
        held = [json.loads(raw) for raw in self.redis.hvals("unacked")]
        return queued + sum(1 for _message, _exchange, queue in held if queue == self.queue)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
        self.redis.delete(
            self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}"
        )
        self.redis.close()


@pytest.fixture
def workers(celery_on_redis, postgres, redis_url, settings, tmp_path):
    workers = Workers(redis_url, settings.MEDIA_ROOT, tmp_path)
    yield workers
    workers.stop_all()


def rendered_once(invoice, media_root) -> None:
    """Exactly one stored PDF, one PDF_RENDERED event, and nothing left to run."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    stored = list(Path(media_root).rglob("*.pdf"))
    assert [path.relative_to(media_root).as_posix() for path in stored] == [invoice.pdf.name]
    assert stored[0].read_bytes().startswith(b"%PDF-")
    assert invoice.events.filter(kind=InvoiceEvent.Kind.PDF_RENDERED).count() == 1


def nothing_rendered(invoice, media_root) -> bool:
    return not (
        list(Path(media_root).rglob("*.pdf"))
        or invoice.events.filter(kind=InvoiceEvent.Kind.PDF_RENDERED).exists()
    )


@pytest.mark.django_db(transaction=True)
def test_a_pdf_task_whose_worker_was_killed_runs_once_after_a_restart(
    workers, customer, settings, tmp_path
):
    invoice = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])
    marker = tmp_path / "rendering"
    first = workers.start(STALL_PDF_ONCE=str(marker))
    result = render_invoice_pdf.apply_async(args=[invoice.pk], queue=workers.queue)
    wait_until(marker.exists, "the first worker to start rendering")
    workers.kill(first)
    assert nothing_rendered(invoice, settings.MEDIA_ROOT)
    assert workers.messages_left() == 1  # held for the dead worker, not acknowledged

    workers.start(VISIBILITY_TIMEOUT="10")
    # An in-process worker started earlier in this test process (start_worker, here and in
    # test_broker_down.py) leaves Celery believing it runs inside a task, and result.get() then
    # refuses to wait; this is the test process, waiting for another worker.
    result.get(timeout=120, disable_sync_subtasks=False)
    wait_until(lambda: workers.messages_left() == 0, "the message to be acknowledged")
    rendered_once(invoice, settings.MEDIA_ROOT)


@pytest.mark.django_db(transaction=True)
def test_a_pdf_task_whose_pool_process_was_killed_goes_back_to_the_queue(
    workers, customer, settings, tmp_path
):
    invoice = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])
    marker = tmp_path / "rendering"
    workers.start(STALL_PDF_ONCE=str(marker))
    result = render_invoice_pdf.apply_async(args=[invoice.pk], queue=workers.queue)
    wait_until(lambda: marker.exists() and marker.read_text(), "a pool process to start")
    os.kill(int(marker.read_text()), signal.SIGKILL)  # the out-of-memory killer's way

    result.get(timeout=120, disable_sync_subtasks=False)  # as above
    wait_until(lambda: workers.messages_left() == 0, "the message to be acknowledged")
    rendered_once(invoice, settings.MEDIA_ROOT)


def test_every_task_of_the_portal_goes_to_a_queue_a_worker_serves():
    queues = {queue.name for queue in app.conf.task_queues}
    ours = [name for name in app.tasks if name.split(".")[0] in {"accounts", "billing", "usage"}]
    assert len(ours) == 19
    for name in ours:
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in queues, (name, route["queue"].name)
    # The schedule's tasks too, by name as beat sends them.
    for entry in app.conf.beat_schedule.values():
        assert app.conf.task_routes[entry["task"]]["queue"] in queues
