"""Production settings as a deployment meets them: Django's own deployment checklist passes
with the few variables an operator must set, and HTTPS is enforced where it should be."""

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**extra: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` in a fresh process with exactly the required variables."""
    environment = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "billing.example.com",
        "EMAIL_URL": "smtp://mailer:secret@mail.example.com:587",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_finds_nothing_with_only_the_required_variables():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_speaks_up_when_https_is_switched_off():
    result = check_deploy(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")
    assert result.returncode == 1
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


@pytest.fixture
def https_enforced(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(client, https_enforced):
    response = client.get("/accounts/login/?next=/invoices/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/?next=/invoices/"


@pytest.mark.django_db
@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
def test_load_balancer_probes_answer_over_plain_http(client, https_enforced, settings, probe):
    settings.REDIS_URL = ""
    assert client.get(probe).status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_https_is_recognised_and_pinned_by_hsts(client, https_enforced):
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_a_forwarded_proto_header_is_ignored_when_no_proxy_is_configured(
    client, https_enforced, settings
):
    settings.SECURE_PROXY_SSL_HEADER = None
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301
