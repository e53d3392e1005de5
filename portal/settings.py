"""The portal's only settings module, configured by environment variables (see README).

Production is the default: DEBUG is off unless DEBUG=true (`make run` sets it for the demo),
and then a strong SECRET_KEY is required and HTTPS is enforced. Optional services switch on
when their variable is set: REDIS_URL (Celery broker; without it tasks run in-process),
STRIPE_SECRET_KEY (online payment), EMAIL_URL (outgoing mail), USAGE_INGEST_TOKEN (a sender
of usage for every customer, beside the senders' own tokens).
"""

import datetime
from pathlib import Path

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from portal.env import (
    database_config,
    env_bool,
    env_choice,
    env_currencies,
    env_day_list,
    env_decimal,
    env_header,
    env_int,
    env_list,
    env_rotating_secret,
    env_secret_key,
    env_str,
    env_token,
    env_url,
    mailer_config,
    storage_config,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret_key(
    "SECRET_KEY", required=not DEBUG, fallback="dev-only-insecure-key-set-SECRET_KEY-in-production"
)

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
    "axes",
    "accounts",
    "usage",
    "billing",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the login is known: each user's own language (Settings), else Accept-Language.
    "portal.middleware.LanguageMiddleware",
    # Before any view or form reads the request: PostgreSQL cannot hold a NUL character.
    "portal.middleware.RefuseNulMiddleware",
    "portal.middleware.SessionIdleMiddleware",
    "portal.middleware.PrivateResponseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.CurrentCustomerMiddleware",
    "portal.middleware.HtmxMessagesMiddleware",
    # Last, as django-axes asks: it turns a login refused for too many failures into a page.
    "axes.middleware.AxesMiddleware",
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
            "builtins": ["django.templatetags.i18n", "portal.templatetags.portal_tags"],
        },
    }
]

DATABASES = {"default": database_config("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a login while the account or the address is locked out, before any
    # password is checked, so a locked-out attacker learns nothing from the answer.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English and Swedish: each user reads the portal in the language they chose (Settings tab),
# and each customer gets invoice emails and PDFs in its `invoice_language`. Without a login,
# the browser's Accept-Language decides. Translations: locale/<code>/LC_MESSAGES
# (docs/pages.md, "Languages").
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as the portal writes them in English (1 Oct 2026); Django's own "en" is American.
FORMAT_MODULE_PATH = ["portal.formats"]
# Country names come from django-countries in the reader's language. Its Swedish (9.1) leaves
# these in English: named here, so that locale/sv completes them ("Kanada", "Brasilien").
COUNTRIES_OVERRIDE = {
    "AS": _("American Samoa"),
    "BR": _("Brazil"),
    "BV": _("Bouvet Island"),
    "CA": _("Canada"),
    "CC": _("Cocos (Keeling) Islands"),
    "CU": _("Cuba"),
    "CV": _("Cabo Verde"),
    "EG": _("Egypt"),
    "GE": _("Georgia"),
    "HK": _("Hong Kong"),
    "ID": _("Indonesia"),
    "IN": _("India"),
    "JO": _("Jordan"),
    "KH": _("Cambodia"),
    "LB": _("Lebanon"),
    "NF": _("Norfolk Island"),
    "PH": _("Philippines"),
    "PN": _("Pitcairn"),
    "SS": _("South Sudan"),
    "TD": _("Chad"),
}
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
    # Where archive_usage writes the raw usage of archived months (usage/archive.py).
    "usage_archive": storage_config("USAGE_ARCHIVE_URL", BASE_DIR / "usage-archive"),
}

# WhiteNoise serves static files; in development straight from the source folders.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS, on by default in production. Behind a proxy that ends TLS, Django learns the scheme
# the browser used from SECURE_PROXY_SSL_HEADER: the proxy must always set (never pass on) it.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe over plain HTTP and would take a redirect for a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = env_header(
    "SECURE_PROXY_SSL_HEADER", None if DEBUG else ("HTTP_X_FORWARDED_PROTO", "https")
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request (portal.middleware.SessionIdleMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=5) * 60

# Logins (portal and admin): django-axes counts failures per account *and* client address,
# and, apart, the accounts one client address has failed on. At the limit that pair, or that
# address, is refused, the right password too, until the cool-off has passed. Never an account
# on its own: anyone could then lock any customer out by typing wrong passwords.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# In this order: accounts.throttle.LoginFailureHandler counts the pair's failures, then the
# accounts tried from the address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.throttle.LoginFailureHandler"
AXES_USERNAME_FORM_FIELD = "username"  # the login forms' field, which holds the email
AXES_USERNAME_CALLABLE = "accounts.throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.locked_out"
# Off (the default, kept on purpose): a success would clear every failure from its address,
# the other accounts' too, so an attacker could reset the count with a login of his own.
AXES_RESET_ON_SUCCESS = False
# The client address is REMOTE_ADDR unless a proxy in front is named: then the address that
# proxy saw, read from its header (e.g. HTTP_X_FORWARDED_FOR), counting TRUSTED_PROXY_COUNT
# proxies from the right; a client can forge anything to the left of them.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Browser features no page of the portal uses, off for it and for anything it might embed.
# Card payment included: customers pay on Stripe's hosted Checkout, another origin (a page of
# its own, not a frame of ours), which this header does not reach.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
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
# The currencies customers are billed in and price plans are priced in (README, "Currencies"):
# ISO 4217 codes; staff add one here, then price a plan in it.
BILLING_CURRENCIES = env_currencies(
    "BILLING_CURRENCIES", ["EUR", "SEK", "USD", "GBP", "NOK", "DKK"]
)
# The VAT of the seller's country, charged to customers there (the EU rule: billing/vat.py).
VAT_RATE = env_decimal("VAT_RATE", "25.00")
# An EU seller whose sales to consumers in other EU countries stay under €10,000 a year
# (Art. 59c of Directive 2006/112/EC) charges them its own VAT instead of their country's.
SELLER_UNDER_EU_VAT_THRESHOLD = env_bool("SELLER_UNDER_EU_VAT_THRESHOLD", False)
# A ZIP of selected invoices renders their missing PDFs for at most this long (seconds, well
# inside gunicorn's 30-second timeout); the rest are queued and the customer asks again.
INVOICE_ZIP_RENDER_SECONDS = 20

# Celery: with REDIS_URL a worker does the background work; without, tasks run in-process.
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss"})
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Every task is idempotent, so a message is acknowledged only once its task has finished, and
# one whose worker died (killed, out of memory) goes back to the queue for another worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task that hangs (a mail server that never answers) gets SoftTimeLimitExceeded, then is
# killed; the longest real one, a many-page PDF, takes seconds.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Redis hands a message that a worker took but never acknowledged to another worker after this
# long: how soon the task of a worker killed mid-task (kill -9, out of memory, a lost machine)
# runs again. Longer than the longest a live worker holds one unacknowledged, else the message
# would run twice: the longest task (the hard time limit) after the longest retry countdown it
# may wait out first (billing.tasks.RETRY: 5 minutes), plus a margin for a busy worker.
RETRY_COUNTDOWN_MAX = 5 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + RETRY_COUNTDOWN_MAX + 5 * 60
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# A queue per kind of work, each with workers of its own in docker-compose.yml, so that a burst
# of one kind (a month's PDFs on the 1st) never holds up another (a payment's bookkeeping, the
# roll-up the Usage page waits for). A worker started without --queues serves them all.
CELERY_TASK_QUEUES = [Queue(name) for name in ("usage", "pdf", "mail", "payments")]
CELERY_TASK_ROUTES = {
    # usage: raw records rolled into the daily rollup, their monthly partitions
    "usage.tasks.aggregate_usage": {"queue": "usage"},
    "usage.tasks.ensure_usage_partitions": {"queue": "usage"},
    # pdf: WeasyPrint, the slow and memory-hungry work
    "billing.tasks.render_invoice_pdf": {"queue": "pdf"},
    "billing.tasks.render_stale_pdfs": {"queue": "pdf"},
    # mail: everything sent to an address
    "billing.tasks.send_invoice_email": {"queue": "mail"},
    "billing.tasks.send_overdue_reminder": {"queue": "mail"},
    "billing.tasks.send_payment_receipt": {"queue": "mail"},
    "billing.tasks.send_unsent_emails": {"queue": "mail"},
    "accounts.tasks.send_contact_confirmation": {"queue": "mail"},
    "accounts.tasks.send_invitation": {"queue": "mail"},
    "accounts.tasks.send_password_reset": {"queue": "mail"},
    "accounts.tasks.send_unsent_emails": {"queue": "mail"},
    "billing.tasks.send_charge_failed": {"queue": "mail"},
    "billing.tasks.warn_expiring_cards": {"queue": "mail"},
    # payments: the books (invoices issued, overdue, refunds that waited for their payment,
    # automatic charges and their retries)
    "billing.tasks.issue_monthly_invoices": {"queue": "payments"},
    "billing.tasks.charge_on_issue": {"queue": "payments"},
    "billing.tasks.retry_automatic_payments": {"queue": "payments"},
    "billing.tasks.flag_overdue_invoices": {"queue": "payments"},
    "billing.tasks.retry_deferred_refunds": {"queue": "payments"},
}

# Stripe: online payment switches on when STRIPE_SECRET_KEY is set.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
# Two secrets, comma-separated, while the endpoint's secret is rotated: either one verifies.
STRIPE_WEBHOOK_SECRET = env_rotating_secret("STRIPE_WEBHOOK_SECRET", prefix="whsec_")
STRIPE_API_BASE = env_url(
    "STRIPE_API_BASE", schemes={"http", "https"}, default="https://api.stripe.com"
)

# After a declined automatic payment, it is tried again this many days after the first
# attempt, once per number (DUNNING_RETRY_DAYS=3,5,7); after the last the invoice waits for
# payment by hand and shows in the admin's "needs attention".
DUNNING_RETRY_DAYS = env_day_list("DUNNING_RETRY_DAYS", [3, 5, 7])

# A sender of usage for every customer, "environment", from before senders had tokens of their
# own (`manage.py create_ingest_token`, README "Sending usage"); unset, only those are taken.
USAGE_INGEST_TOKEN = env_token("USAGE_INGEST_TOKEN", min_length=32)
# Usage records must start within the last USAGE_ACCEPT_DAYS days (the window Stripe's meters
# take): older usage would land in months already invoiced without anyone deciding so.
# `import_usage --backfill` loads it on purpose.
USAGE_ACCEPT_DAYS = env_int("USAGE_ACCEPT_DAYS", 35, minimum=1)
# Monthly invoicing waits this long after a month ends (UTC) before it issues the month, so
# that usage sent a little late lands on the month's own invoice; what comes later still is
# billed on the next one (billing/invoicing.py).
INVOICE_GRACE_HOURS = env_int("INVOICE_GRACE_HOURS", 24, minimum=0)

# The most a customer's month of usage may add up to (docs/invoicing.md, "Bounds"): what is
# beyond it is held back by the aggregation, not counted. The columns are sized for it; only
# tests lower it.
USAGE_MONTH_QUANTITY_MAX = 10**16

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
    # WeasyPrint narrates every layout step, Stripe every request and axes every login at
    # INFO; failed logins and lockouts are WARNINGs and still show.
    "loggers": {
        name: {"level": "WARNING"} for name in ("weasyprint", "fontTools", "stripe", "axes")
    },
}
