"""The embedded SQLite default holds under concurrent writers (issue 13): with the options the
portal sets for it (IMMEDIATE transactions, WAL, a busy timeout) writers queue instead of
failing with "database is locked". The writers run in tests/portal/sqlite_writers.py, in a
process of its own, against a database file (the test database is in memory and shared)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.portal.sqlite_writers import DRAFTS_PER_THREAD, SHARED, THREADS

ROOT = Path(__file__).resolve().parents[2]


def revision(name: str) -> int:
    """INV-2026-0003-r1.pdf, or INV-2026-0003-r1_ThFNIwc.pdf when a racing render took the
    plain name first (its file is deleted, and the storage gave this one a suffix)."""
    return int(re.search(r"-r(\d+)(_\w+)?\.pdf$", name).group(1))


def test_concurrent_finalizing_pdfs_and_payments_never_find_the_database_locked(tmp_path):
    media = tmp_path / "media"
    environment = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "MEDIA_ROOT": str(media),
    }
    environment.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.portal.sqlite_writers"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["errors"] == []

    count = SHARED + THREADS * DRAFTS_PER_THREAD  # 15
    # Gapless numbering although four threads finalized at once.
    assert sorted(outcome["numbers"]) == [f"INV-2026-{n:04d}" for n in range(1, count + 1)]
    # One stored PDF per invoice, of its latest revision, and one render per revision,
    # although four threads stored the shared ones at once.
    stored = sorted(path.name for path in media.rglob("*.pdf"))
    assert stored == sorted(Path(name).name for name in outcome["pdfs"].values())
    assert len(stored) == count
    for pk in outcome["shared"]:
        assert outcome["pdf_events"][str(pk)] == 1
        assert revision(outcome["pdfs"][str(pk)]) == 1
        assert outcome["paid"][str(pk)] == ["unpaid", "0.00"]
    # Two instalments of 10.00 and 8.75 on every invoice a thread finalized: 18.75, paid.
    # Each payment is a new revision of the invoice (paid amount, PAID stamp): three PDFs.
    for pk in outcome["own"]:
        assert outcome["paid"][str(pk)] == ["paid", "18.75"]
        assert outcome["payments"][str(pk)] == 2
        assert outcome["pdf_events"][str(pk)] == 3
        assert revision(outcome["pdfs"][str(pk)]) == 3
