"""Senders of usage: their tokens (made, scoped, rotated, revoked), the answers a token gets,
the sender every record keeps, and the figures staff read per sender."""

import datetime
import io
import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from tests.usage.records import NOTHING, record, stored
from usage.models import IngestToken, Sender, SenderDay, UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

URL = "/api/v1/usage/"
ENVIRONMENT_TOKEN = "usage-token-0123456789-abcdefghijklmnop"
NOW = datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def setup(settings, time_machine, customers):
    settings.USAGE_INGEST_TOKEN = ENVIRONMENT_TOKEN
    time_machine.move_to(NOW, tick=False)


def create_token(name: str, *customers: str) -> tuple[str, str]:
    """The command's whole output and the secret it prints on its last line."""
    out = io.StringIO()
    args = [name, *(arg for number in customers for arg in ("--customer", number))]
    call_command("create_ingest_token", *args, stdout=out)
    output = out.getvalue()
    return output, output.rstrip("\n").splitlines()[-1]


def post(client, records, secret):
    return client.post(
        URL,
        json.dumps({"records": records}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_a_new_token_prints_its_secret_alone_on_the_last_line_and_sends_usage(client):
    output, secret = create_token("collector-eu1")

    assert secret.startswith("bp_live_") and len(secret) == 8 + 48
    assert f"{secret[:12]}… for collector-eu1 (every customer)" in output
    response = post(client, [record(1), record(2, customer="C-20001")], secret)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0}
    senders = set(UsageRecord.objects.values_list("sender__name", flat=True))
    assert senders == {"collector-eu1"}
    token = IngestToken.objects.get()
    assert (token.prefix, token.last_used_at) == (secret[:12], NOW)


def test_the_secret_is_nowhere_in_the_database(client):
    _, secret = create_token("collector-eu1", "C-20000")
    assert post(client, [record(1)], secret).status_code == 200

    for model in apps.get_models():
        for row in model.objects.values_list():
            assert not any(secret in str(value) for value in row), model
    assert IngestToken.objects.get().digest != secret


def test_a_scoped_token_is_refused_for_another_customer_and_nothing_of_the_batch_is_stored(
    client,
):
    _, secret = create_token("collector-eu1", "C-20000")
    batch = [record(1), record(2, customer="C-20001"), record(3), record(4, customer="C-99999")]

    response = post(client, batch, secret)

    assert response.status_code == 403
    forbidden = "This sender may not send usage for this customer."
    assert response.json() == {
        "errors": [
            {"index": 1, "field": "customer", "error": forbidden},
            {"index": 3, "field": "customer", "error": forbidden},
        ]
    }
    assert stored() == NOTHING
    day = SenderDay.objects.get(sender__name="collector-eu1")
    assert (day.batches, day.records, day.rejected_batches) == (1, 0, 1)
    assert day.first_error == (f"403 (2 problem(s)) record 1, customer: {forbidden}")
    assert post(client, [record(1), record(3)], secret).json() == {"accepted": 2, "duplicates": 0}


def test_a_scoped_token_refuses_before_it_validates(client):
    """A sender learns nothing of the records for customers it may not send for."""
    _, secret = create_token("collector-eu1", "C-20000")

    response = post(client, [record(1, quantity="-1"), record(2, customer="C-20001")], secret)

    assert response.status_code == 403
    assert [error["index"] for error in response.json()["errors"]] == [1]
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "secret",
    ["bp_live_" + "0" * 48, "bp_live_", "", ENVIRONMENT_TOKEN[:-1], "x" * 10_000],
)
def test_an_unknown_token_is_401_and_stores_nothing(client, secret):
    create_token("collector-eu1")

    response = post(client, [record(1)], secret)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="usage"'
    assert stored() == NOTHING
    assert not SenderDay.objects.exists()


def test_rotation_two_live_tokens_then_the_old_one_is_revoked(client):
    _, old = create_token("collector-eu1")
    _, new = create_token("collector-eu1")
    with pytest.raises(CommandError, match="2 live tokens already"):
        create_token("collector-eu1")
    assert IngestToken.objects.count() == 2

    assert post(client, [record(1)], old).status_code == 200
    assert post(client, [record(2)], new).status_code == 200
    out = io.StringIO()
    call_command("revoke_ingest_token", "collector-eu1", "--prefix", old[:12], stdout=out)

    assert out.getvalue() == f"Revoked {old[:12]}… of collector-eu1.\n"
    assert post(client, [record(3)], old).status_code == 401
    assert post(client, [record(3)], new).status_code == 200
    call_command("revoke_ingest_token", "collector-eu1", stdout=io.StringIO())
    assert post(client, [record(4)], new).status_code == 401
    assert sorted(UsageRecord.objects.values_list("external_id", flat=True)) == [
        "r-1",
        "r-2",
        "r-3",
    ]
    with pytest.raises(CommandError, match="no live token"):
        call_command("revoke_ingest_token", "collector-eu1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collector-eu1", "--customer", "C-00404"], "No customer C-00404."),
        (["environment"], "sender without tokens of its own"),
        (["import"], "sender without tokens of its own"),
        ([" "], "1-100 characters"),
        (["x" * 101], "1-100 characters"),
    ],
)
def test_a_token_that_cannot_be_made_is_refused_and_nothing_is_stored(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_ingest_token", *args, stdout=io.StringIO())

    assert not IngestToken.objects.exists()


def test_the_environment_token_is_the_sender_environment_for_every_customer(client):
    response = post(client, [record(1), record(2, customer="C-20001")], ENVIRONMENT_TOKEN)

    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert set(UsageRecord.objects.values_list("sender__name", flat=True)) == {"environment"}


def test_each_sender_day_counts_batches_records_duplicates_and_the_first_refusal(client):
    _, secret = create_token("collector-eu1")
    post(client, [record(1), record(2)], secret)
    post(client, [record(2), record(3)], secret)
    post(client, [record(4, metric="gpu")], secret)
    post(client, [record(5, quantity="x")], secret)
    post(client, [record(6)], ENVIRONMENT_TOKEN)

    day = SenderDay.objects.get(sender__name="collector-eu1")
    assert (day.day, day.batches, day.records, day.duplicates, day.rejected_batches) == (
        datetime.date(2026, 11, 22),
        4,
        3,
        1,
        2,
    )
    assert day.first_error.startswith("400 (1 problem(s)) record 0, metric: Unknown metric")
    assert day.last_batch_at == NOW
    environment = SenderDay.objects.get(sender__name="environment")
    assert (environment.batches, environment.records) == (1, 1)


def test_the_token_is_looked_up_once_a_batch_not_once_a_record(
    client, django_assert_max_num_queries
):
    _, secret = create_token("collector-eu1", "C-20000")
    post(client, [record(0)], secret)  # services and the sender exist from here on

    with django_assert_max_num_queries(14) as one:
        post(client, [record(1)], secret)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert post(client, [record(n) for n in range(2, 502)], secret).status_code == 200


def test_staff_read_each_senders_figures_of_today(admin_client, client):
    _, secret = create_token("collector-eu1")
    create_token("collector-us1")
    post(client, [record(1), record(2)], secret)
    post(client, [record(3, quantity="x")], secret)

    page = admin_client.get("/admin/usage/sender/").content.decode()

    row = page[page.index("collector-eu1") :].split("</tr>")[0]
    cells = [cell.split(">", 1)[1] for cell in row.split("<td")[1:]]
    assert cells[0].startswith("1<")  # live tokens
    assert cells[2:4] == ["2</td>", "1</td>"]  # records today, rejected batches today
    assert "record 0, quantity: Must be a decimal number" in cells[4]
    quiet = page[page.index("collector-us1") :].split("</tr>")[0]
    assert "never" in quiet
    assert (
        admin_client.get(
            f"/admin/usage/sender/{Sender.objects.get(name='collector-eu1').pk}/change/"
        ).status_code
        == 200
    )


def test_staff_make_a_token_in_the_admin_and_see_its_secret_once(admin_client, client, customers):
    response = admin_client.post(
        "/admin/usage/ingesttoken/add/", {"name": "collector-eu1", "customers": [customers[0].pk]}
    )

    assert response.status_code == 200
    page = response.content.decode()
    secret = page.split('<code id="ingest-secret">')[1].split("</code>")[0]
    token = IngestToken.objects.get()
    assert secret.startswith(token.prefix)
    assert list(token.customers.values_list("number", flat=True)) == ["C-20000"]
    assert post(client, [record(1)], secret).status_code == 200
    assert post(client, [record(2, customer="C-20001")], secret).status_code == 403
    listing = admin_client.get("/admin/usage/ingesttoken/").content.decode()
    assert token.prefix in listing and secret not in listing
    assert (
        secret
        not in admin_client.get(f"/admin/usage/ingesttoken/{token.pk}/change/").content.decode()
    )


def test_staff_revoke_tokens_with_the_admin_action(admin_client, client):
    _, secret = create_token("collector-eu1")

    admin_client.post(
        "/admin/usage/ingesttoken/",
        {"action": "revoke", "_selected_action": [IngestToken.objects.get().pk]},
    )

    assert IngestToken.objects.get().revoked_at == NOW
    assert post(client, [record(1)], secret).status_code == 401
