"""`make bench`: every benchmark against a throwaway database (PostgreSQL when DATABASE_URL is
set, else SQLite); one Markdown table on stdout and the same rows in bench/results.json.
Last, the load test (bench/load.py) against a server of its own, on scratch databases.

A missed goal is a row with ok false, and the run still exits 0. A page that answers anything
but 200 stops the run instead: its timing would mean nothing.

`python -m bench invoices usage_page` (or `make bench ONLY="invoices usage_page"`) runs only the
benchmarks named; BENCH_SCALE (bench/scale.py) sizes the usage tables, 10 million records unless
told otherwise.
"""

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import django

RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    # Imported after setup: they import models.
    from django.test.utils import override_settings

    from bench import (
        invoices,
        load,
        payments,
        pdf,
        usage_aggregation,
        usage_archive,
        usage_ingest,
        usage_page,
    )
    from portal.celery import app as celery_app

    in_process = [
        invoices,
        usage_page,
        pdf,
        payments,
        usage_ingest,
        usage_aggregation,
        usage_archive,
    ]
    chosen = set(sys.argv[1:]) or {m.__name__.removeprefix("bench.") for m in [*in_process, load]}
    unknown = chosen - {m.__name__.removeprefix("bench.") for m in [*in_process, load]}
    if unknown:
        sys.exit(f"No such benchmark: {', '.join(sorted(unknown))}.")

    # Benchmarks measure the web process: background work runs in it, never on a worker.
    celery_app.conf.task_always_eager = True
    # The table is the output; per-request and per-task log lines would bury it.
    logging.disable(logging.INFO)
    with (
        throwaway_database(),
        tempfile.TemporaryDirectory() as media,
        override_settings(MEDIA_ROOT=media),
    ):
        rows = [
            row
            for m in in_process
            if m.__name__.removeprefix("bench.") in chosen
            for row in m.run()
        ]
    if "load" in chosen:
        rows += load.run()
    print(table(rows))
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


@contextlib.contextmanager
def throwaway_database():
    """A fresh, migrated database from Django's test machinery; the developer's is untouched."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    if connection.vendor != "sqlite":
        # Not test_portal, which a `make test` running at the same time may be using.
        connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    # Production settings, not the developer's: DEBUG off (no query log, no template debug).
    setup_test_environment(debug=False)
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def table(rows: list[dict]) -> str:
    lines = [
        "| what | figure | unit | baseline | ratio | goal |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for r in rows:
        mark = "✓" if r["ok"] else "✗"
        lines.append(
            f"| {r['name']} | {figure(r['value'])} | {r['unit']} | {figure(r['baseline'])} "
            f"| {figure(r['ratio'])} | {r['goal']} {mark} |"
        )
    return "\n".join(lines)


def figure(number) -> str:
    if number is None:
        return "—"
    if isinstance(number, float):
        return f"{number:.2f}"
    return str(number)


if __name__ == "__main__":
    main()
