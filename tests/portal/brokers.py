"""Brokers for the tests that send tasks through Redis: the project's Celery app pointed at a
Redis for the length of a test, and a private redis-server that a test may stop and start."""

import contextlib
import socket
import subprocess

import redis

from portal.celery import app
from tests.concurrency import wait_until


@contextlib.contextmanager
def celery_using(url: str):
    """The Celery app sends tasks to the broker at `url` (not in-process) until the block ends."""
    keys = ("broker_url", "result_backend", "task_always_eager")
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    forget_connections()
    try:
        yield app
    finally:
        app.conf.update(previous)
        forget_connections()


def forget_connections() -> None:
    """Celery keeps the broker pool, its producers and the result backend it made from the
    URLs it saw first; drop them, so that the next task uses the URLs configured now."""
    app.close()
    app.amqp._producer_pool = None
    app._backend_cache = None
    vars(app._local).pop("backend", None)


def free_port() -> int:
    """A local port nothing listens on now: bind one, then let it go."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a free port, keeping nothing on disk, so that the
    test can take the broker away from the portal and bring it back (same port, empty)."""

    def __init__(self, executable: str, workdir):
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self.answers, f"redis-server on port {self.port}", timeout=20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return client.ping()
        except redis.ConnectionError:
            return False
        finally:
            client.close()
