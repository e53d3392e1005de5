"""The README's Python sender, run as written against a live server whose first answer is a
500: it sends the batch again with the same ids, and the usage is stored once."""

import re
from pathlib import Path

import pytest
from django.db import DatabaseError

from tests.factories import CustomerFactory
from usage import api
from usage.models import UsageRecord
from usage.services import create_ingest_token

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_sender() -> str:
    block = re.search(
        r"<!-- sender:python -->\n```python\n(.*?)```\n<!-- /sender:python -->",
        README.read_text(),
        re.S,
    )
    assert block, "the README's Python sender block"
    return block[1]


@pytest.mark.django_db(transaction=True)
def test_the_readme_sender_retries_a_5xx_and_the_usage_is_stored_once(
    live_server, monkeypatch, still_now
):
    customer = CustomerFactory(number="C-10001")
    _, secret = create_ingest_token(name="collector-eu1", customers=[customer])
    monkeypatch.setenv("BILLING_URL", live_server.url)
    monkeypatch.setenv("USAGE_TOKEN", secret)
    store, calls = api.ingest_typed, []

    def fails_once_after_storing(records, **kwargs):
        # The worst case for a sender: stored, then the answer is lost (a 500).
        result = store(records, **kwargs)
        calls.append(result)
        if len(calls) == 1:
            raise DatabaseError("the answer is lost")
        return result

    monkeypatch.setattr(api, "ingest_typed", fails_once_after_storing)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    sender: dict = {}
    exec(readme_sender(), sender)
    record = {
        "id": "evt-0001",
        "customer": "C-10001",
        "service": "k8s-prod-eu1",
        "metric": "cpu",
        "quantity": "12.5",
        "start": "2026-11-20T13:00:00Z",
        "end": "2026-11-20T14:00:00Z",
    }

    assert sender["send_batch"]([record]) == {"accepted": 0, "duplicates": 1}
    assert len(calls) == 2
    assert list(UsageRecord.objects.values_list("external_id", "sender__name")) == [
        ("evt-0001", "collector-eu1")
    ]
