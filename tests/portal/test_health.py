"""Liveness and readiness, as a load balancer or an operator sees them."""

import dj_database_url
import pytest
from django.db.utils import ConnectionHandler

from portal import views
from tests.portal.brokers import free_port


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_the_database_answers(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "not configured: tasks run in-process",
    }


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_down(client, settings, monkeypatch):
    settings.REDIS_URL = ""
    broken = ConnectionHandler(
        {"default": dj_database_url.parse(f"postgres://postgres@127.0.0.1:{free_port()}/portal")}
    )
    monkeypatch.setattr(views, "connections", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"].startswith("unreachable")


@pytest.mark.django_db
def test_readyz_names_the_broker_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.mark.django_db
def test_readyz_is_ok_with_a_live_broker(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
