"""Every environment variable the portal reads is parsed, and a bad value says what is wrong.
Production is the default: without DEBUG=true a strong SECRET_KEY is required and HTTPS is on."""

import datetime
import runpy
import secrets
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env

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
    "DUNNING_RETRY_DAYS",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_IDLE_MINUTES",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_COOLOFF_MINUTES",
    "CLIENT_IP_HEADER",
    "TRUSTED_PROXY_COUNT",
    "MEDIA_ROOT",
    "LOG_LEVEL",
    "USAGE_INGEST_TOKEN",
    "USAGE_ARCHIVE_URL",
]
STRONG_KEY = secrets.token_urlsafe(50)


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


def test_with_debug_on_the_demo_needs_nothing_else(load_settings):
    s = load_settings(DEBUG="true")
    assert s["DEBUG"] is True
    assert s["SECRET_KEY"]
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["CELERY_TASK_ALWAYS_EAGER"] is True
    assert s["CELERY_BROKER_URL"] == "memory://"
    assert s["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }
    assert s["STRIPE_SECRET_KEY"] == ""
    assert s["STRIPE_API_BASE"] == "https://api.stripe.com"
    # Plain HTTP on 127.0.0.1: no redirect, no HSTS, no proxy header, cookies over HTTP.
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["SECURE_PROXY_SSL_HEADER"] is None
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is False


def test_production_is_the_default(load_settings):
    s = load_settings(SECRET_KEY=STRONG_KEY)
    assert s["DEBUG"] is False
    assert s["SECRET_KEY"] == STRONG_KEY
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$", r"^readyz$"]
    assert s["SECURE_HSTS_SECONDS"] == 365 * 24 * 60 * 60
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is s["SECURE_HSTS_PRELOAD"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s["SESSION_COOKIE_SECURE"] is s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_AGE"] == 30 * 60
    assert (s["AXES_FAILURE_LIMIT"], s["AXES_COOLOFF_TIME"]) == (5, datetime.timedelta(minutes=15))
    assert (s["CLIENT_IP_HEADER"], s["TRUSTED_PROXY_COUNT"]) == ("", 1)


def test_production_values_are_read(load_settings, tmp_path):
    s = load_settings(
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
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
    assert s["SECRET_KEY"] == STRONG_KEY
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


@pytest.mark.parametrize(
    ("env", "name", "value"),
    [
        ({"SECURE_SSL_REDIRECT": "false"}, "SECURE_SSL_REDIRECT", False),
        ({"SECURE_HSTS_SECONDS": "3600"}, "SECURE_HSTS_SECONDS", 3600),
        ({"SECURE_HSTS_SECONDS": "0"}, "SECURE_HSTS_SECONDS", 0),
        ({"SECURE_HSTS_INCLUDE_SUBDOMAINS": "no"}, "SECURE_HSTS_INCLUDE_SUBDOMAINS", False),
        ({"SECURE_HSTS_PRELOAD": "off"}, "SECURE_HSTS_PRELOAD", False),
        ({"SECURE_COOKIES": "false"}, "SESSION_COOKIE_SECURE", False),
        ({"SECURE_COOKIES": "false"}, "CSRF_COOKIE_SECURE", False),
        (
            {"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_SCHEME, https"},
            "SECURE_PROXY_SSL_HEADER",
            ("HTTP_X_FORWARDED_SCHEME", "https"),
        ),
        ({"SECURE_PROXY_SSL_HEADER": ""}, "SECURE_PROXY_SSL_HEADER", None),
        ({"SESSION_IDLE_MINUTES": "45"}, "SESSION_COOKIE_AGE", 45 * 60),
        ({"LOGIN_FAILURE_LIMIT": "10"}, "AXES_FAILURE_LIMIT", 10),
        ({"LOGIN_COOLOFF_MINUTES": "60"}, "AXES_COOLOFF_TIME", datetime.timedelta(hours=1)),
        ({"CLIENT_IP_HEADER": "HTTP_X_REAL_IP"}, "CLIENT_IP_HEADER", "HTTP_X_REAL_IP"),
        ({"TRUSTED_PROXY_COUNT": "2"}, "TRUSTED_PROXY_COUNT", 2),
        (
            {"STRIPE_WEBHOOK_SECRET": " whsec_new , whsec_old "},
            "STRIPE_WEBHOOK_SECRET",
            "whsec_new,whsec_old",
        ),  # fmt: skip
    ],
)
def test_each_production_setting_can_be_changed(load_settings, env, name, value):
    assert load_settings(SECRET_KEY=STRONG_KEY, **env)[name] == value


def test_in_development_https_can_be_switched_on(load_settings):
    s = load_settings(DEBUG="true", SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="60")
    assert (s["SECURE_SSL_REDIRECT"], s["SECURE_HSTS_SECONDS"]) == (True, 60)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (None, "SECRET_KEY must be set"),
        ("s3cret", r"SECRET_KEY is too short \(6 characters; it needs at least 50\)"),
        ("ab" * 40, "SECRET_KEY has too few different characters"),
        # (a fixed key: parameters must be the same in every xdist worker)
        (
            "django-insecure-" + "Kq3v9Zr1xW7bT2mLp8sN4cYd6fHj0gUe" * 2,
            "is a well-known placeholder",
        ),
        ("change-me-in-production-" * 3, "SECRET_KEY is a well-known placeholder"),
        ("dev-only-insecure-key-set-SECRET_KEY-in-production", "is a well-known placeholder"),
    ],
)
def test_production_refuses_a_missing_short_or_placeholder_secret_key(load_settings, key, problem):
    env = {} if key is None else {"SECRET_KEY": key}
    with pytest.raises(ImproperlyConfigured, match=problem) as refused:
        load_settings(DEBUG="false", **env)
    assert "secrets.token_urlsafe(50)" in str(refused.value)
    if key:
        assert key not in str(refused.value)


def test_in_development_any_secret_key_will_do(load_settings):
    assert load_settings(DEBUG="true", SECRET_KEY="s3cret")["SECRET_KEY"] == "s3cret"


def test_sqlite_waits_for_writers_instead_of_failing(load_settings, tmp_path):
    db = load_settings(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")["DATABASES"]
    assert db["default"]["OPTIONS"] == {
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL"
        ),
    }


def test_postgresql_gets_no_sqlite_options(load_settings):
    db = load_settings(DEBUG="true", DATABASE_URL="postgres://app@db:5432/portal")["DATABASES"]
    assert "transaction_mode" not in db["default"].get("OPTIONS", {})


SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_email_url_configures_smtp(load_settings):
    s = load_settings(
        DEBUG="true", EMAIL_URL="smtp://mailer:p%40ss@smtp.example.com:2525?tls=false"
    )
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
    options = load_settings(DEBUG="true", EMAIL_URL="smtps://u:p@smtp.example.com")["MAILERS"][
        "default"
    ]["OPTIONS"]
    assert (options["port"], options["use_ssl"], options["use_tls"]) == (465, True, False)


def test_email_host_family_configures_smtp(load_settings):
    s = load_settings(
        DEBUG="true",
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
        ({"SECURE_SSL_REDIRECT": "always"}, "SECURE_SSL_REDIRECT must be true or false"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be at least 0"),
        ({"SECURE_HSTS_PRELOAD": "2"}, "SECURE_HSTS_PRELOAD must be true or false"),
        ({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, "SECURE_PROXY_SSL_HEADER must be"),
        ({"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}, "SECURE_PROXY_SSL_HEADER must"),
        ({"SECURE_PROXY_SSL_HEADER": "HTTP_X_A,https,http"}, "SECURE_PROXY_SSL_HEADER must be"),
        ({"SESSION_IDLE_MINUTES": "2"}, "SESSION_IDLE_MINUTES must be at least 5"),
        ({"SESSION_IDLE_MINUTES": "forever"}, "SESSION_IDLE_MINUTES must be a whole number"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT must be at least 1"),
        ({"LOGIN_COOLOFF_MINUTES": "0"}, "LOGIN_COOLOFF_MINUTES must be at least 1"),
        ({"TRUSTED_PROXY_COUNT": "0"}, "TRUSTED_PROXY_COUNT must be at least 1"),
        ({"USAGE_ARCHIVE_URL": "/var/archive"}, "USAGE_ARCHIVE_URL must be a URL starting with"),
        ({"USAGE_ARCHIVE_URL": "ftp://host/x"}, "USAGE_ARCHIVE_URL must be a URL starting with"),
        ({"USAGE_ARCHIVE_URL": "file://host/x"}, "USAGE_ARCHIVE_URL must name an absolute"),
        ({"USAGE_ARCHIVE_URL": "s3:///prefix"}, "USAGE_ARCHIVE_URL must name a bucket"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(load_settings, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_settings(**{"DEBUG": "true", **env})


@pytest.mark.parametrize(
    "value",
    [
        "whsec_new,,whsec_old",  # an empty part
        "whsec_new,",
        "whsec_a,whsec_b,whsec_c",  # more than a rotation needs
        "sk_live_51abc",  # the API key pasted in the wrong variable
        "whsec_",
        "whsec_new;whsec_old",
    ],
)
def test_a_malformed_webhook_secret_list_is_refused_without_echoing_it(load_settings, value):
    with pytest.raises(ImproperlyConfigured, match="STRIPE_WEBHOOK_SECRET must be one secret") as e:
        load_settings(DEBUG="true", STRIPE_WEBHOOK_SECRET=value)
    assert "whsec_new" not in str(e.value) and "sk_live" not in str(e.value)


def test_usage_ingest_is_off_without_a_token_and_takes_a_strong_one(load_settings):
    assert load_settings(DEBUG="true")["USAGE_INGEST_TOKEN"] == ""
    token = secrets.token_urlsafe(32)
    assert load_settings(DEBUG="true", USAGE_INGEST_TOKEN=token)["USAGE_INGEST_TOKEN"] == token


@pytest.mark.parametrize("weak", ["hunter2", "x" * 31, "two words " * 4])
def test_a_weak_usage_ingest_token_is_refused_without_echoing_it(load_settings, weak):
    with pytest.raises(ImproperlyConfigured, match="USAGE_INGEST_TOKEN must be at least 32") as e:
        load_settings(DEBUG="true", USAGE_INGEST_TOKEN=weak)
    assert weak.strip() not in str(e.value)


@pytest.mark.parametrize("value", ["", "3,x", "5,3", "0,2", "3,3"])
def test_dunning_retry_days_must_be_increasing_whole_days(monkeypatch, value):
    monkeypatch.setenv("DUNNING_RETRY_DAYS", value)
    with pytest.raises(ImproperlyConfigured, match="DUNNING_RETRY_DAYS"):
        env.env_day_list("DUNNING_RETRY_DAYS", [3, 5, 7])


def test_dunning_retry_days_default_and_custom(monkeypatch):
    monkeypatch.delenv("DUNNING_RETRY_DAYS", raising=False)
    assert env.env_day_list("DUNNING_RETRY_DAYS", [3, 5, 7]) == [3, 5, 7]
    monkeypatch.setenv("DUNNING_RETRY_DAYS", " 1, 4 ,10")
    assert env.env_day_list("DUNNING_RETRY_DAYS", [3, 5, 7]) == [1, 4, 10]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("EUR,XYZ", "'XYZ' is not an ISO 4217 currency code"),
        ("EUR,KWD", "KWD has 3 decimal places; the books keep 2"),
        (" , ", "must name at least one currency"),
    ],
)
def test_billing_currencies_must_be_iso_codes_the_books_can_hold(monkeypatch, value, error):
    from portal.env import env_currencies

    monkeypatch.setenv("BILLING_CURRENCIES", value)
    with pytest.raises(ImproperlyConfigured, match=error):
        env_currencies("BILLING_CURRENCIES", ["EUR"])


def test_billing_currencies_are_upper_cased_once_each(monkeypatch):
    from portal.env import env_currencies

    monkeypatch.setenv("BILLING_CURRENCIES", "sek, eur,SEK,jpy")
    assert env_currencies("BILLING_CURRENCIES", ["EUR"]) == ["SEK", "EUR", "JPY"]


def test_the_usage_archive_is_a_folder_unless_told_otherwise(load_settings, monkeypatch):
    default = load_settings(DEBUG="true")["STORAGES"]["usage_archive"]
    folder = load_settings(DEBUG="true", USAGE_ARCHIVE_URL="file:///srv/usage%20archive")
    assert default == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": SETTINGS_FILE.parents[1] / "usage-archive"},
    }
    assert folder["STORAGES"]["usage_archive"]["OPTIONS"] == {
        "location": Path("/srv/usage archive")
    }
    s3 = load_settings(DEBUG="true", USAGE_ARCHIVE_URL="s3://billing-archive/raw/usage/")
    assert s3["STORAGES"]["usage_archive"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "billing-archive", "location": "raw/usage"},
    }
    # S3 through django-storages, when it is not installed (the s3 extra): the start says
    # what is missing.
    monkeypatch.setattr(env.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImproperlyConfigured, match=r"install django-storages\[s3\]"):
        load_settings(DEBUG="true", USAGE_ARCHIVE_URL="s3://billing-archive/raw")
