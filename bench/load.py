"""20 logged-in users for 60 seconds against gunicorn with 2 workers on the loopback, the way
a browser uses the portal (issues 11 and 13): invoice pages and tabs, sheets (HTMX), the
dashboard, usage ranges, the account page and stored PDFs, with think time between clicks.

Each run gets a scratch database (PostgreSQL: `bench_load_<name>` beside the configured one,
dropped afterwards; SQLite: a temporary file) filled by bench/load_data.py with the demo data
and a customer with 10,000 invoices, and a server with production settings, except that it
speaks plain HTTP on 127.0.0.1. A prober asks for /healthz at the same pace throughout: its
times under the same load are every page's baseline. It runs against PostgreSQL when
DATABASE_URL names it, then once against the default SQLite database, and stops by itself.
"""

import asyncio
import contextlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

from bench.measure import BenchError, median, p95, row

USERS = 20
DURATION = 60.0  # seconds of load after every user has logged in
THINK = (0.1, 0.5)  # seconds between one answer and the next click
TIMEOUT = 10.0
GOAL_MS = 200
HOST = "127.0.0.1"
HTMX = {"HX-Request": "true"}
# What a user does next, and how often, per click.
PAGES = {
    "Invoices page": 3,
    "Invoices tab (HTMX)": 3,
    "Invoice sheet (HTMX)": 3,
    "Dashboard": 2,
    "Usage": 2,
    "Account": 1,
    "PDF download": 1,
}
PROBE = "/healthz"


@dataclass(frozen=True)
class Sample:
    page: str
    ms: float
    ok: bool
    detail: str


def run() -> list[dict]:
    collect_static()
    rows = []
    if connection.vendor == "postgresql":
        rows += load_rows("PostgreSQL")
    rows += load_rows("SQLite")
    return rows


def load_rows(label: str) -> list[dict]:
    with scratch_database(label) as database_url, tempfile.TemporaryDirectory() as media:
        environment = production_environment(database_url, media)
        logins_file = Path(media) / "logins.json"
        subprocess.run(
            [sys.executable, "-m", "bench.load_data", str(logins_file)],
            cwd=settings.BASE_DIR,
            env=environment,
            check=True,
            timeout=900,
        )
        logins = json.loads(logins_file.read_text())
        with server(environment, Path(media) / "gunicorn.log") as base_url:
            samples, elapsed = asyncio.run(load(base_url, logins))
    return report(label, samples, elapsed)


# ---- The server and its database ----


def production_environment(database_url: str, media: str) -> dict:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", media),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        # No TLS in front of a loopback server: no redirect to https, cookies over http.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": media,
        "LOG_LEVEL": "WARNING",
    }


def collect_static() -> None:
    """Production settings serve hashed static names from STATIC_ROOT: collect them once."""
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
            cwd=settings.BASE_DIR,
            env=production_environment(f"sqlite:///{scratch}/unused.sqlite3", scratch),
            check=True,
            timeout=120,
        )


@contextlib.contextmanager
def scratch_database(label: str):
    """A URL for an empty database of the kind `label` names, gone afterwards."""
    if label == "SQLite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/load.sqlite3"
        return
    import psycopg
    from psycopg import sql

    db = connection.settings_dict
    name = f"bench_load_{db['NAME']}"
    server = {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    server = {key: value for key, value in server.items() if value}
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            f"postgres://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(drop)


@contextlib.contextmanager
def server(environment: dict, log: Path):
    """gunicorn with 2 workers on the loopback, until the block ends."""
    port = int(os.environ.get("BENCH_LOAD_PORT") or free_port())
    command = [
        *(sys.executable, "-m", "gunicorn", "portal.wsgi"),
        *("--workers", "2", "--bind", f"{HOST}:{port}", "--timeout", "30"),
        *("--log-level", "warning", "--error-logfile", str(log)),
    ]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=environment)
    base_url = f"http://{HOST}:{port}"
    try:
        wait_until_serving(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log.exists() and "Traceback" in log.read_text():
            print(f"Server errors (from {log.name}):\n{log.read_text()[-3000:]}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until_serving(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode} before serving.")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + PROBE, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer {PROBE} within 30 s.")


# ---- The users ----


async def load(base_url: str, logins: list[dict]) -> tuple[list[Sample], float]:
    """Every user logs in (not timed), then all browse until the same deadline."""
    clients = [httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) for _ in range(USERS + 1)]
    *users, prober = clients
    try:
        # Two at a time, one per server worker: a password hash takes a good part of a second
        # on purpose, and twenty at once would queue past the timeout.
        hashing = asyncio.Semaphore(2)
        await asyncio.gather(
            *(log_in(client, logins[n % len(logins)], hashing) for n, client in enumerate(users))
        )
        samples: list[Sample] = []
        deadline = asyncio.get_running_loop().time() + DURATION
        start = time.perf_counter()
        await asyncio.gather(
            *(
                browse(client, logins[n % len(logins)], random.Random(n), deadline, samples)
                for n, client in enumerate(users)
            ),
            probe(prober, random.Random(-1), deadline, samples),
        )
        return samples, time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()


async def log_in(client: httpx.AsyncClient, login: dict, hashing: asyncio.Semaphore) -> None:
    form = await client.get("/accounts/login/")
    if form.status_code != 200:
        raise BenchError(f"The login page answered {form.status_code}.")
    async with hashing:
        response = await client.post(
            "/accounts/login/",
            data={
                "username": login["email"],
                "password": login["password"],
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
    if response.status_code != 302 or response.headers["location"] != "/dashboard/":
        raise BenchError(f"Logging in as {login['email']} answered {response.status_code}.")


async def browse(client, login: dict, rng: random.Random, deadline: float, samples) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        page = rng.choices(list(PAGES), weights=list(PAGES.values()))[0]
        path, headers = click(page, login, rng)
        samples.append(await timed(client, page, path, headers))
        await asyncio.sleep(rng.uniform(*THINK))


async def probe(client, rng: random.Random, deadline: float, samples) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        samples.append(await timed(client, PROBE, PROBE, {}))
        await asyncio.sleep(rng.uniform(*THINK))


def click(page: str, login: dict, rng: random.Random) -> tuple[str, dict]:
    """The path (and headers) of one click on `page`, as `login` would make it."""
    if page == "Invoices page":
        # Mostly the first pages, now and then deep into a long history.
        last = login["pages"]
        number = rng.choice([1, 1, 1, 2, 3, 5, 10, max(1, last // 2), last])
        return f"/invoices/?page={min(number, last)}", {}
    if page == "Invoices tab (HTMX)":
        return f"/invoices/?status={rng.choice(['all', 'unpaid', 'paid'])}", HTMX
    if page == "Invoice sheet (HTMX)":
        return f"/invoices/{rng.choice(login['sheets'])}/", HTMX
    if page == "Dashboard":
        return "/dashboard/", {}
    if page == "Usage":
        return f"/usage/?range={rng.choice(['7d', 'last-month', '90d'])}", {}
    if page == "Account":
        return "/account/", {}
    return f"/invoices/{rng.choice(login['pdfs'])}/pdf/?download=1", {}


async def timed(client: httpx.AsyncClient, page: str, path: str, headers: dict) -> Sample:
    start = time.perf_counter()
    try:
        response = await client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        ms = (time.perf_counter() - start) * 1000
        return Sample(page, ms, False, f"{exc.__class__.__name__} on {path}")
    ms = (time.perf_counter() - start) * 1000
    return Sample(page, ms, response.status_code == 200, f"{response.status_code} on {path}")


# ---- The table ----


def report(label: str, samples: list[Sample], elapsed: float) -> list[dict]:
    what = f"Load, {USERS} users, {label}"
    times = defaultdict(list)
    for sample in samples:
        if sample.ok:
            times[sample.page].append(sample.ms)
    errors = [sample for sample in samples if not sample.ok]
    for sample in errors[:5]:
        print(f"{what}: error {sample.detail}", file=sys.stderr)
    per_page = defaultdict(int)
    for sample in errors:
        per_page[sample.page] += 1
    where = ", ".join(f"{page} {count}" for page, count in per_page.items())
    baseline = times[PROBE]
    rows = [
        row(
            # Other work on the machine slows every figure below alike, the baseline too.
            f"{what}: machine load average (1 min) after the run",
            os.getloadavg()[0],
            "processes",
            goal="reported",
            ok=True,
        ),
        row(
            f"{what}: requests/s over {elapsed:.0f} s",
            len(samples) / elapsed,
            "req/s",
            goal="reported",
            ok=True,
        ),
        row(
            f"{what}: errors" + (f" ({where})" if where else ""),
            len(errors),
            "requests",
            goal="= 0",
            ok=not errors,
        ),
    ]
    for page in [*PAGES, PROBE]:
        page_times = times[page]
        name = f"{what}: {page} ({len(page_times)} requests)"
        is_probe = page == PROBE
        rows += [
            row(
                f"{name}, median",
                median(page_times),
                "ms",
                baseline=None if is_probe else median(baseline),
                goal="reported",
                ok=True,
            ),
            row(
                f"{name}, p95",
                p95(page_times),
                "ms",
                baseline=None if is_probe else p95(baseline),
                goal=f"< {GOAL_MS} ms",
                ok=p95(page_times) < GOAL_MS,
            ),
        ]
    return rows
