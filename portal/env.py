"""Tiny typed readers for the environment. A bad value raises ImproperlyConfigured naming it."""

import importlib.util
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from core.money import check_currency

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_decimal(name: str, default: str) -> Decimal:
    raw = env_str(name, default)
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number such as 25.00, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_day_list(name: str, default: list[int]) -> list[int]:
    """Days in increasing order, each at least 1, as `3,5,7`."""
    raw = env_list(name, [str(day) for day in default])
    try:
        days = [int(item) for item in raw]
    except ValueError:
        days = []
    if not days or days != sorted(set(days)) or days[0] < 1:
        raise ImproperlyConfigured(
            f"{name} must be whole days in increasing order such as 3,5,7, not {raw!r}."
        )
    return days


def env_currencies(name: str, default: list[str]) -> list[str]:
    """ISO 4217 codes, comma-separated, each one the books can hold (core.money)."""
    codes = env_list(name, default)
    try:
        checked = [check_currency(code) for code in codes]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}.") from None
    if not checked:
        raise ImproperlyConfigured(f"{name} must name at least one currency.")
    return list(dict.fromkeys(checked))


def env_header(name: str, default: tuple[str, str] | None) -> tuple[str, str] | None:
    """A request header and the value that marks it, as `HTTP_X_FORWARDED_PROTO,https`
    (Django's SECURE_PROXY_SSL_HEADER); an empty value turns it off."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        return None
    header, _, value = (part.strip() for part in raw.partition(","))
    if not header.startswith("HTTP_") or not value or "," in value:
        raise ImproperlyConfigured(
            f"{name} must be a header and its value, such as HTTP_X_FORWARDED_PROTO,https; "
            f"not {raw!r}."
        )
    return header, value


def env_rotating_secret(name: str, *, prefix: str) -> str:
    """One secret (`prefix` then letters, digits or _), or two separated by a comma while it
    is rotated (the new and the old). Empty when unset. No secret appears in an error."""
    raw = env_str(name)
    if not raw:
        return ""
    secrets = [part.strip() for part in raw.split(",")]
    shape = re.compile(re.escape(prefix) + r"[A-Za-z0-9_]+")
    if len(secrets) > 2 or not all(shape.fullmatch(secret) for secret in secrets):
        raise ImproperlyConfigured(
            f"{name} must be one secret starting with {prefix}, or two separated by a comma "
            f"during a rotation; it has {len(secrets)} part(s), not all of them such a secret."
        )
    return ",".join(secrets)


def env_token(name: str, *, min_length: int) -> str:
    """A shared secret that callers present (a bearer token); empty when unset. A short one
    stops the start, without echoing it."""
    value = env_str(name)
    if value and (len(value) < min_length or any(c.isspace() for c in value)):
        raise ImproperlyConfigured(
            f"{name} must be at least {min_length} characters without spaces; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    return value


def env_choice(name: str, default: str, *, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(sorted(choices))}; not {value!r}."
        )
    return value


def env_url(name: str, *, schemes: set[str], default: str = "") -> str:
    """A URL whose scheme is one of `schemes`; empty when unset."""
    value = env_str(name, default)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        allowed = ", ".join(f"{s}://" for s in sorted(schemes))
        raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}; got {value!r}.")
    return value


# Words found in the keys of tutorials, templates and generated projects: as good as public.
_PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "insecure", "example")
_KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def env_secret_key(name: str, *, required: bool, fallback: str) -> str:
    """Django's signing key. When `required` (DEBUG off), a missing, short (< 50 characters),
    repetitive or placeholder key stops the start: sessions, password reset links and CSRF
    tokens are only as safe as this key. The key itself never appears in the message."""
    value = env_str(name)
    if not required:
        return value or fallback
    if not value:
        problem = "must be set"
    elif len(value) < 50:
        problem = f"is too short ({len(value)} characters; it needs at least 50)"
    elif len(set(value)) < 5:
        problem = "has too few different characters"
    elif value.startswith("django-insecure-") or any(
        marker in value.lower() for marker in _PLACEHOLDER_MARKERS
    ):
        problem = "is a well-known placeholder"
    else:
        return value
    raise ImproperlyConfigured(f"{name} {problem} when DEBUG is false: {_KEY_HINT}.")


def database_config(name: str, default: str) -> dict:
    import dj_database_url

    value = env_str(name) or default
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a database URL this portal understands "
            f"(postgres://user@host:5432/name or sqlite:///path): {exc}"
        ) from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
    return config


# SQLite under concurrent requests: a transaction takes the write lock when it begins
# (IMMEDIATE), so two writers queue for up to busy_timeout instead of one failing with
# "database is locked" when it upgrades a read lock; WAL lets readers go on meanwhile.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL",
}


_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}


def mailer_config() -> dict:
    """The default mailer (Django's MAILERS["default"]), from EMAIL_URL, else EMAIL_HOST and
    its family, else the console, so that a first run never needs a mail server."""
    url = env_url("EMAIL_URL", schemes=set(_EMAIL_BACKENDS))
    if url:
        return _mailer_from_url(url)
    if env_str("EMAIL_HOST"):
        return {
            "BACKEND": _EMAIL_BACKENDS["smtp"],
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587, minimum=1),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    return {"BACKEND": _EMAIL_BACKENDS["console"]}


def _mailer_from_url(url: str) -> dict:
    """smtp://user:password@host:587?tls=false, smtps://user:password@host, console://."""
    parts = urlsplit(url)
    config = {"BACKEND": _EMAIL_BACKENDS[parts.scheme]}
    if parts.scheme in {"smtp", "smtps"}:
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {url!r}.") from None
        tls = parse_qs(parts.query).get("tls", ["true"])[0].lower()
        config["OPTIONS"] = {
            "host": parts.hostname or "",
            "port": port or (465 if parts.scheme == "smtps" else 587),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": parts.scheme == "smtps",
            "use_tls": parts.scheme == "smtp" and tls in _TRUE,
        }
    return config


def storage_config(name: str, default: Path) -> dict:
    """A storage (an entry of Django's STORAGES) from a URL: file:///absolute/folder, or
    s3://bucket/prefix through django-storages, which must then be installed; its credentials,
    region and endpoint come from boto3's own AWS_* variables. Unset: the folder `default`."""
    url = env_url(name, schemes={"file", "s3"})
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": default},
        }
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise ImproperlyConfigured(
                f"{name} must name an absolute folder: file:///path, not {url!r}."
            )
        location = Path(unquote(parts.path))
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        }
    if not parts.netloc:
        raise ImproperlyConfigured(f"{name} must name a bucket: s3://bucket/prefix, not {url!r}.")
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            f"{name} is an S3 bucket: install django-storages[s3] beside the portal "
            '(pip install ".[s3]").'
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": parts.netloc, "location": unquote(parts.path).strip("/")},
    }
