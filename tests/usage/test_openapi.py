"""The ingest API's OpenAPI 3.1 description: the file in the repository is what the endpoint
serves, and schemathesis calls the API with what the description allows (and what it does
not): every answer is one it describes, never a 500, and a refused batch stores nothing."""

import json
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.factories import CustomerFactory
from usage.api import MAX_BODY_BYTES, MAX_RECORDS
from usage.models import UsageRecord
from usage.openapi import as_text
from usage.openapi import schema as description
from usage.services import create_ingest_token

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ENVIRONMENT_TOKEN = "usage-token-0123456789-abcdefghijklmnop"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    unsupported_method,
]
# Not negative_data_rejection: it takes 413 (a batch over 10,000 records, which the description
# says is refused so) for data accepted. Refused data is checked below instead: nothing stored.

api = schemathesis.openapi.from_dict(description())
application = get_wsgi_application()


def test_the_file_in_the_repository_is_what_the_endpoint_serves(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    served = response.content.decode()
    assert served == as_text()
    assert FILE.read_text() == served, (
        "docs/openapi.json differs from the API: python manage.py openapi_schema > "
        "docs/openapi.json"
    )


def test_the_description_gives_every_limit_and_answer_of_the_contract():
    document = json.loads(FILE.read_text())
    post = document["paths"]["/api/v1/usage/"]["post"]
    assert document["openapi"] == "3.1.0"
    assert sorted(post["responses"]) == ["200", "400", "401", "403", "405", "409", "413", "415"]
    schemas = document["components"]["schemas"]
    assert schemas["Batch"]["properties"]["records"]["maxItems"] == MAX_RECORDS == 10_000
    assert f"{MAX_BODY_BYTES:,} bytes" in post["requestBody"]["description"]
    record = schemas["Record"]
    assert sorted(record["properties"]) == sorted(
        ["id", "customer", "service", "metric", "quantity", "start", "end", "resource"]
    )
    assert record["required"] == ["id", "customer", "service", "metric", "quantity", "start", "end"]
    assert record["properties"]["metric"]["enum"] == ["cpu", "memory", "storage", "bandwidth"]
    assert "35 days ago" in record["properties"]["start"]["description"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.fixture
def wsgi():
    """The WSGI application inside the test's transaction: as Django's test client does, it
    must not close the connection at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def senders(settings, still_now):
    settings.USAGE_INGEST_TOKEN = ENVIRONMENT_TOKEN
    known = CustomerFactory(number="C-10001")  # the description's example customer
    CustomerFactory(number="C-10002")
    _, scoped = create_ingest_token(name="collector-eu1", customers=[known])
    return {"environment": ENVIRONMENT_TOKEN, "scoped": scoped}


@pytest.mark.parametrize("sender", ["environment", "scoped"])
@api.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_one_the_description_gives_and_a_refusal_stores_nothing(
    case, wsgi, senders, sender
):
    before = UsageRecord.objects.count()

    response = case.call_and_validate(
        app=wsgi, headers={"Authorization": f"Bearer {senders[sender]}"}, checks=CHECKS
    )

    stored = UsageRecord.objects.count() - before
    if case.operation.path == "/api/v1/usage/":
        assert stored == (response.json()["accepted"] if response.status_code == 200 else 0)
