"""The portal's only settings module, configured by environment variables (see README).

Optional services switch on when their variable is set: REDIS_URL (Celery broker; without it
tasks run in-process), STRIPE_SECRET_KEY (online payment), EMAIL_URL (outgoing mail).
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from portal.env import (
    database_config,
    env_bool,
    env_choice,
    env_decimal,
    env_list,
    env_str,
    env_url,
    mailer_config,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
_DEV_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env_str("SECRET_KEY") or _DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute links in emails sent by background tasks, where there is no request to ask.
SITE_URL = env_url("SITE_URL", schemes={"http", "https"}, default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_countries",
    "accounts",
    "usage",
    "billing",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.CurrentCustomerMiddleware",
    "portal.middleware.HtmxMessagesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
            "builtins": ["portal.templatetags.portal_tags"],
        },
    }
]

DATABASES = {"default": database_config("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# WhiteNoise serves static files; in development straight from the source folders.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Mail: see portal/env.py for EMAIL_URL and the EMAIL_HOST family.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "billing@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAILERS = {"default": mailer_config()}

# The provider that issues the invoices: printed on every invoice, used for VAT and payment.
SELLER = {
    "name": env_str("SELLER_NAME", "Nordic Cloud Provider AB"),
    "address": [
        line.strip()
        for line in env_str("SELLER_ADDRESS", "Kungsgatan 10; 111 43 Stockholm").split(";")
        if line.strip()
    ],
    "country": env_str("SELLER_COUNTRY", "SE"),
    "vat_id": env_str("SELLER_VAT_ID", "SE559900112201"),
    "email": env_str("SELLER_EMAIL", DEFAULT_FROM_EMAIL),
    "bank": env_str("SELLER_BANK", "SEB"),
    "iban": env_str("SELLER_IBAN", "SE45 5000 0000 0583 9825 7466"),
    "bic": env_str("SELLER_BIC", "ESSESESS"),
}
# VAT charged to customers in the seller's country; others are reverse-charged (0%).
VAT_RATE = env_decimal("VAT_RATE", "25.00")

# Celery: with REDIS_URL a worker does the background work; without, tasks run in-process.
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss"})
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# Stripe: online payment switches on when STRIPE_SECRET_KEY is set.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_url(
    "STRIPE_API_BASE", schemes={"http", "https"}, default="https://api.stripe.com"
)

_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", choices=_LOG_LEVELS),
    },
    # WeasyPrint narrates every layout step and Stripe every request at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools", "stripe")},
}
