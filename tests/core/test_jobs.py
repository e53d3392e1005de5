"""The claim that makes a job run once: a second run finds the work claimed, and a run that
fails gives its claim back for the sweep."""

import pytest

from accounts.models import PasswordResetRequest
from core.jobs import claim_then_run

pytestmark = pytest.mark.django_db


def owed():
    return PasswordResetRequest.objects.filter(sent_at=None)


def test_a_claimed_job_runs_once():
    PasswordResetRequest.objects.create(email="a@example.test")
    runs = []
    assert claim_then_run(owed(), "sent_at", lambda: runs.append(1)) is True
    assert claim_then_run(owed(), "sent_at", lambda: runs.append(2)) is False
    assert runs == [1] and not owed().exists()


def test_a_run_that_fails_gives_the_claim_back():
    PasswordResetRequest.objects.create(email="a@example.test")

    def fail():
        raise ConnectionError("mail server down")

    with pytest.raises(ConnectionError):
        claim_then_run(owed(), "sent_at", fail)
    assert owed().count() == 1  # still owed: the next sweep tries again
