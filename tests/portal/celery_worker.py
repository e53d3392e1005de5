"""A real Celery worker for tests/portal/test_celery.py, started as its own process
(`python -m tests.portal.celery_worker QUEUE`): the project's app and settings, a prefork pool
of one, listening on the test's own queue.

Two test-only switches, by environment variable, change nothing in production code:
- STALL_PDF_ONCE=<path>: the first PDF render writes the pool process's pid to <path> and
  hangs, so that the test can kill the worker in the middle of the task; once <path> exists,
  PDFs render as usual.
- VISIBILITY_TIMEOUT=<seconds>: Redis hands an unacknowledged message to another worker after
  this long instead of the settings' quarter of an hour, checked every second, so the test
  need not wait that long; the settings' other transport options stay.
"""

import os
import sys
import time
from pathlib import Path

import django


def stall_first_render(marker: Path) -> None:
    from billing import pdf

    render = pdf.html_to_pdf

    def html_to_pdf(html: str) -> bytes:
        if marker.exists():
            return render(html)
        marker.write_text(str(os.getpid()))
        time.sleep(120)
        raise AssertionError("The test should have killed this process by now.")

    pdf.html_to_pdf = html_to_pdf


def main(queue: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from portal.celery import app

    if marker := os.environ.get("STALL_PDF_ONCE"):
        stall_first_render(Path(marker))
    if timeout := os.environ.get("VISIBILITY_TIMEOUT"):
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "visibility_timeout": int(timeout),
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            f"--queues={queue}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1])
