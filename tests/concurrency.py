"""Things at the same moment: work released together from threads, each on its own database
connection (PostgreSQL's locks are what these tests are about), and waiting for a state the
test can see, never for a fixed time."""

import threading
import time

import pytest
from django.db import connection


def run_together(*work) -> list[Exception]:
    """Run each callable in its own thread and connection, all released at once; the
    exceptions they raised (a thread's exception would otherwise be lost)."""
    start = threading.Barrier(len(work))
    errors = []

    def run(job):
        try:
            start.wait()
            job()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def wait_until(condition, what: str, timeout: float = 60) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up after {timeout} s waiting for {what}.")
        time.sleep(0.02)


# Another transaction of this database waits for a row lock (PostgreSQL).
ROW_LOCK_AWAITED = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND datname = current_database()"
)


def awaited(lock_query: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(lock_query)
        return cursor.fetchone()[0] > 0
