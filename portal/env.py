"""Tiny typed readers for the environment. A bad value raises ImproperlyConfigured naming it."""

import os
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

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


def database_config(name: str, default: str) -> dict:
    import dj_database_url

    value = env_str(name) or default
    try:
        return dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a database URL this portal understands "
            f"(postgres://user@host:5432/name or sqlite:///path): {exc}"
        ) from None


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
