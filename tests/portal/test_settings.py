"""Every environment variable the portal reads is parsed, and a bad value says what is wrong."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "portal" / "settings.py"

VARIABLES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "SECURE_COOKIES",
    "MEDIA_ROOT",
    "LOG_LEVEL",
]


@pytest.fixture
def load_settings(monkeypatch):
    """Evaluate portal/settings.py afresh with exactly the given environment."""

    def load(**env):
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_defaults_give_a_local_first_run(load_settings):
    s = load_settings()
    assert s["DEBUG"] is True
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["CELERY_TASK_ALWAYS_EAGER"] is True
    assert s["CELERY_BROKER_URL"] == "memory://"
    assert s["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }
    assert s["STRIPE_SECRET_KEY"] == ""
    assert s["STRIPE_API_BASE"] == "https://api.stripe.com"


def test_production_values_are_read(load_settings, tmp_path):
    s = load_settings(
        DEBUG="false",
        SECRET_KEY="s3cret",
        ALLOWED_HOSTS="billing.example.com, portal.example.com",
        CSRF_TRUSTED_ORIGINS="https://billing.example.com",
        SITE_URL="https://billing.example.com",
        DATABASE_URL="postgres://app:pw@db.internal:6432/portal",
        REDIS_URL="redis://cache.internal:6379/2",
        STRIPE_SECRET_KEY="sk_test_123",
        STRIPE_WEBHOOK_SECRET="whsec_abc",
        STRIPE_API_BASE="http://127.0.0.1:12111",
        DEFAULT_FROM_EMAIL="invoices@example.com",
        MEDIA_ROOT=str(tmp_path),
        LOG_LEVEL="WARNING",
    )
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == "s3cret"
    assert s["ALLOWED_HOSTS"] == ["billing.example.com", "portal.example.com"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://billing.example.com"]
    assert s["SITE_URL"] == "https://billing.example.com"
    db = s["DATABASES"]["default"]
    assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"], db["USER"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        6432,
        "portal",
        "app",
    )
    assert s["CELERY_BROKER_URL"] == s["CELERY_RESULT_BACKEND"] == "redis://cache.internal:6379/2"
    assert s["CELERY_TASK_ALWAYS_EAGER"] is False
    assert s["STRIPE_SECRET_KEY"] == "sk_test_123"
    assert s["STRIPE_WEBHOOK_SECRET"] == "whsec_abc"
    assert s["STRIPE_API_BASE"] == "http://127.0.0.1:12111"
    assert s["DEFAULT_FROM_EMAIL"] == "invoices@example.com"
    assert s["MEDIA_ROOT"] == tmp_path
    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["LOGGING"]["root"]["level"] == "WARNING"


SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_email_url_configures_smtp(load_settings):
    s = load_settings(EMAIL_URL="smtp://mailer:p%40ss@smtp.example.com:2525?tls=false")
    assert s["MAILERS"]["default"] == {
        "BACKEND": SMTP,
        "OPTIONS": {
            "host": "smtp.example.com",
            "port": 2525,
            "username": "mailer",
            "password": "p@ss",
            "use_ssl": False,
            "use_tls": False,
        },
    }


def test_smtps_url_uses_ssl_on_465(load_settings):
    options = load_settings(EMAIL_URL="smtps://u:p@smtp.example.com")["MAILERS"]["default"][
        "OPTIONS"
    ]
    assert (options["port"], options["use_ssl"], options["use_tls"]) == (465, True, False)


def test_email_host_family_configures_smtp(load_settings):
    s = load_settings(
        EMAIL_HOST="mail.example.com",
        EMAIL_PORT="25",
        EMAIL_HOST_USER="u",
        EMAIL_HOST_PASSWORD="p",
        EMAIL_USE_TLS="no",
    )
    assert s["MAILERS"]["default"] == {
        "BACKEND": SMTP,
        "OPTIONS": {
            "host": "mail.example.com",
            "port": 25,
            "username": "u",
            "password": "p",
            "use_tls": False,
        },
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": "mongodb://db/portal"}, "DATABASE_URL is not a database URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL starting with redis://"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL must be a URL starting with redis://"),
        ({"SITE_URL": "billing.example.com"}, "SITE_URL must be a URL"),
        ({"STRIPE_API_BASE": "ftp://stripe"}, "STRIPE_API_BASE must be a URL"),
        ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL must be a URL"),
        ({"EMAIL_URL": "smtp://host:notaport"}, "EMAIL_URL has an invalid port"),
        ({"EMAIL_HOST": "mail", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number"),
        ({"EMAIL_HOST": "mail", "EMAIL_PORT": "0"}, "EMAIL_PORT must be at least 1"),
        (
            {"EMAIL_HOST": "mail", "EMAIL_USE_TLS": "sometimes"},
            "EMAIL_USE_TLS must be true or false",
        ),
        ({"SECURE_COOKIES": "2"}, "SECURE_COOKIES must be true or false"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(load_settings, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_settings(**env)
