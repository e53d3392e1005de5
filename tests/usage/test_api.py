"""POST /api/v1/usage/ as the metering contract says: every answer, and bad input of every kind
(invalid, hostile, duplicate) gets a clear JSON answer and stores nothing."""

import datetime
import json
from decimal import Decimal as D

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.factories import CustomerFactory
from tests.usage.records import NOTHING, record, stored
from tests.usage.strategies import hostile_records, json_values, valid_records
from usage.aggregation import aggregate_usage
from usage.api import MAX_BODY_BYTES
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

URL = "/api/v1/usage/"
TOKEN = "usage-token-0123456789-abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def setup(settings, time_machine):
    settings.USAGE_INGEST_TOKEN = TOKEN
    time_machine.move_to(datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC), tick=False)
    CustomerFactory(number="C-20000")
    CustomerFactory(number="C-20001")


def post(client, body, *, content_type="application/json", headers=AUTH):
    if not isinstance(body, bytes):
        body = json.dumps(body)
    return client.post(URL, body, content_type=content_type, headers=headers)


def assert_answer(response, status: int, body: dict | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    if body is not None:
        assert response.json() == body


def test_a_batch_is_stored_and_counted(client):
    response = post(client, {"records": [record(1), record(2, metric="bandwidth")]})

    assert_answer(response, 200, {"accepted": 2, "duplicates": 0})
    assert sorted(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-1", "r-2"]


def test_the_same_batch_twice_counts_once(client):
    batch = {"records": [record(n) for n in range(1, 4)]}

    assert_answer(post(client, batch), 200, {"accepted": 3, "duplicates": 0})
    assert_answer(post(client, batch), 200, {"accepted": 0, "duplicates": 3})
    assert UsageRecord.objects.count() == 3


def test_an_id_twice_in_one_batch_is_one_record_and_one_duplicate(client):
    response = post(client, {"records": [record(1), record(1, quantity=1.5), record(2)]})

    assert_answer(response, 200, {"accepted": 2, "duplicates": 1})
    assert str(UsageRecord.objects.get(external_id="r-1").quantity) == "1.500000"


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": "9"},
        {"metric": "memory"},
        {"start": "2026-10-20T12:00:00Z"},
        {"end": "2026-10-20T13:30:00Z"},
        {"service": "web"},
    ],
)
def test_an_id_sent_again_with_other_content_is_a_conflict_and_nothing_is_stored(client, change):
    assert_answer(post(client, {"records": [record(1)]}), 200, {"accepted": 1, "duplicates": 0})
    before = stored()

    response = post(client, {"records": [record(2), record(1, **change)]})

    assert_answer(
        response,
        409,
        {"errors": [{"index": 1, "field": "id", "error": "already received with other content"}]},
    )
    assert stored() == before
    # The identical record is still a duplicate.
    assert_answer(post(client, {"records": [record(1)]}), 200, {"accepted": 0, "duplicates": 1})


def test_old_usage_foreign_digits_and_hostile_service_names_refuse_the_batch(client, settings):
    settings.USAGE_ACCEPT_DAYS = 10  # from noon on 12 November
    before = stored()
    records = [
        record(1, start="2026-11-12T12:00:00Z", end="2026-11-12T13:00:00Z"),
        record(2, start="2026-11-12T11:59:59Z", end="2026-11-12T13:00:00Z"),
        record(3, start="2026-11-20T13:00:00Z", end="2026-11-20T14:00:00Z", quantity="\u0663"),
        record(4, start="2026-11-20T13:00:00Z", end="2026-11-20T14:00:00Z", service="web\u200b"),
        record(5, start="2026-11-20T13:00:00Z", end="2026-11-20T14:00:00Z", service="a;@b"),
    ]

    response = post(client, {"records": records})

    assert_answer(response, 400)
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (1, "start"),
        (2, "quantity"),
        (3, "service"),
        (4, "service"),
    ]
    assert "Is more than 10 days ago" in response.json()["errors"][0]["error"]
    assert stored() == before


def test_an_invalid_record_refuses_the_whole_batch_naming_index_and_field(client):
    post(client, {"records": [record(100)]})
    aggregate_usage()
    before = stored()

    response = post(
        client,
        {"records": [record(1, service="new-service"), record(2, quantity="-1"), record(3)]},
    )

    assert_answer(
        response,
        400,
        {"errors": [{"index": 1, "field": "quantity", "error": "Must not be negative."}]},
    )
    assert stored() == before  # no record, no new service, the rollup as it was


def test_an_empty_batch_is_accepted_and_stores_nothing(client):
    assert_answer(post(client, {"records": []}), 200, {"accepted": 0, "duplicates": 0})


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer  ", f"Bearer {TOKEN}"])
def test_without_the_environment_token_only_senders_tokens_are_taken(
    client, settings, authorization
):
    settings.USAGE_INGEST_TOKEN = ""

    response = post(client, {"records": [record(1)]}, headers={"Authorization": authorization})

    assert_answer(response, 401, {"error": "A valid bearer token is required."})
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Bearer {TOKEN[:-1]}",  # one character short
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer tökén",
    ],
)
def test_without_the_right_token_the_answer_is_401_and_nothing_is_stored(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = post(client, {"records": [record(1)]}, headers=headers)

    assert_answer(response, 401, {"error": "A valid bearer token is required."})
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert stored() == NOTHING


def test_the_scheme_is_case_insensitive(client):
    response = post(client, {"records": [record(1)]}, headers={"Authorization": f"bearer {TOKEN}"})

    assert_answer(response, 200, {"accepted": 1, "duplicates": 0})


def test_a_logged_in_session_is_no_substitute_for_the_token(owner_client):
    response = post(owner_client, {"records": [record(1)]}, headers={})

    assert_answer(response, 401)
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json", ""],
)
def test_a_body_that_is_not_json_is_refused_with_415(client, content_type):
    response = post(client, {"records": [record(1)]}, content_type=content_type)

    assert_answer(response, 415, {"error": "Send the records as application/json."})
    assert stored() == NOTHING


def test_a_charset_parameter_is_fine(client):
    response = post(
        client, {"records": [record(1)]}, content_type="application/json; charset=utf-8"
    )

    assert_answer(response, 200)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"records": [}',
        b"\xff\xfe\x00garbage",
        b'{"records": [{"id": "r-1", "quantity": NaN}]}',
        b'{"records": [{"id": "r-1", "quantity": Infinity}]}',
        b'{"records": [{"quantity": ' + b"9" * 5000 + b"}]}",  # an integer Python refuses
        b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
    ],
    ids=["truncated", "broken", "not utf-8", "NaN", "Infinity", "huge int", "deep"],
)
def test_malformed_json_is_refused_with_400(client, body):
    response = post(client, body)

    assert_answer(response, 400, {"error": "The body is not valid JSON."})
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "payload",
    [[], [record(1)], "records", 42, None, {}, {"records": None}, {"records": {"0": record(1)}}],
)
def test_a_body_without_a_list_of_records_is_refused_with_400(client, payload):
    response = post(client, payload)

    assert_answer(response, 400, {"error": 'The body must be a JSON object with a list "records".'})
    assert stored() == NOTHING


def test_more_than_10000_records_is_refused_with_413(client):
    response = post(client, {"records": [record(n) for n in range(10_001)]})

    assert_answer(
        response, 413, {"error": "At most 10,000 records in one batch; this one has 10,001."}
    )
    assert stored() == NOTHING


def test_10000_records_are_accepted(client):
    response = post(client, {"records": [record(n) for n in range(10_000)]})

    assert_answer(response, 200, {"accepted": 10_000, "duplicates": 0})


def test_a_body_over_the_size_limit_is_refused_before_it_is_parsed(client):
    body = json.dumps({"records": [record(1)], "padding": "x" * MAX_BODY_BYTES}).encode()

    response = post(client, body)

    assert_answer(response, 413, {"error": "The body is larger than 10,000,000 bytes."})
    assert stored() == NOTHING


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_refused_with_405(client, method):
    response = getattr(client, method)(URL, headers=AUTH)

    assert_answer(response, 405, {"error": "Send usage records with POST."})
    assert response["Allow"] == "POST"


# ---- Hostile input: random JSON bodies never break the endpoint or store a bad batch ----

bodies = (
    st.builds(lambda records: {"records": records}, st.lists(hostile_records, max_size=4))
    | st.builds(lambda records: {"records": records}, st.lists(valid_records, max_size=5))
    | json_values
    | st.binary(min_size=1, max_size=64)  # (without a body the test client sends no type)
)


@given(body=bodies)
def test_hostile_bodies_get_a_json_answer_and_store_nothing_unless_the_batch_is_valid(client, body):
    before = stored()

    response = post(client, body)

    # 409: an id that an earlier example stored, now with other content.
    assert response.status_code in {200, 400, 409}, response.content
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics: each happens
    assert_answer(response, response.status_code)
    if response.status_code == 200:
        answer = response.json()
        sent = len(body["records"])
        assert answer["accepted"] + answer["duplicates"] == sent
        assert len(stored()["records"]) == len(before["records"]) + answer["accepted"]
    else:
        assert stored() == before


def test_quantities_with_more_decimals_than_stored_are_rounded_per_record(client):
    """Rounded half-up to 6 places record by record, as the rollup and invoice then sum them:
    a million records of 0.0000005 bill 1.0 (here three of them, and one as a JSON number)."""
    response = post(
        client,
        {
            "records": [
                record(1, quantity="0.0000005"),
                record(2, quantity="0.0000005"),
                record(3, quantity="2.00000049999"),
                record(4, quantity=5e-7),
            ]
        },
    )

    assert_answer(response, 200, {"accepted": 4, "duplicates": 0})
    assert dict(UsageRecord.objects.values_list("external_id", "quantity")) == {
        "r-1": D("0.000001"),
        "r-2": D("0.000001"),
        "r-3": D("2.000000"),
        "r-4": D("0.000001"),
    }
