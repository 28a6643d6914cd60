"""Django settings, built from the TSUNAGU_* environment (see tsunagu.config)."""

import os
from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from tsunagu import config
from tsunagu.lib import security_headers

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()
BASE_URL = config.base_url()
DEBUG = config.debug()
SECRET_KEY = config.secret_key(DATA_DIR)
# Encrypt the secrets stored in the database (ATS signing secrets and keys, DKIM keys): newest key first.
TSUNAGU_ENCRYPTION_KEYS = config.encryption_keys(DATA_DIR)
# The base URL's host, TSUNAGU_ALLOWED_HOSTS, and localhost for a local base URL: any other Host gets 400.
ALLOWED_HOSTS = config.allowed_hosts(BASE_URL)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "huey.contrib.djhuey",
    "anymail",
    # Login protection: lockouts after failed logins (axes), the TOTP second factor (django-otp).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Listed so that /api/v1/docs serves Swagger UI from django-ninja's own static files (no CDN).
    "ninja",
    "tsunagu.core",
    "tsunagu.companies",
    "tsunagu.talent",
    "tsunagu.intake",
    "tsunagu.messaging",
    "tsunagu.relay",
    "tsunagu.privacy",
    "tsunagu.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "tsunagu.lib.security_headers.ReferrerPolicyMiddleware",
    "tsunagu.lib.hosts.HealthCheckAnyHostMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tsunagu.companies.two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes documents: turns a refused login into the lockout page (HTTP 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tsunagu.urls"
WSGI_APPLICATION = "tsunagu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tsunagu.companies.context_processors.console",
            ],
        },
    },
]

DATABASES = {"default": config.database(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
# Axes first: a locked-out account or address is refused before ModelBackend hashes the password.
AUTHENTICATION_BACKENDS = [
    "tsunagu.companies.login_protection.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout (django-axes, tsunagu/companies/login_protection.py): 10 failures within 15 minutes for one account
# (from anywhere) or from one address (for any account) refuse further logins there for 15 minutes after the
# last counted failure, on /console/login/ and /admin/ alike; `tsunagu security unlock` lifts it early.
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not wipe the failures: it would also wipe those its address made against other accounts.
AXES_RESET_ON_SUCCESS = False
# Tries while locked out are refused without being counted, so the lockout ends when the page says it will.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "tsunagu.companies.login_protection.client_address"
AXES_USERNAME_CALLABLE = "tsunagu.companies.login_protection.client_username"
AXES_LOCKOUT_CALLABLE = "tsunagu.companies.login_protection.lockout_response"
# The admin stays read-only: lockouts are listed and lifted with `tsunagu security`.
AXES_ENABLE_ADMIN = False
# The second factor (django-otp, tsunagu/companies/two_factor.py): the name authenticator apps show, and the
# TOTP secret never shown in the admin.
OTP_TOTP_ISSUER = "Tsunagu"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Tokyo"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Static files ship inside the package; WhiteNoise serves them from the finders
# so no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Personal links (tokens in the URL) answer Referrer-Policy: strict-origin (lib/security_headers.py).
TSUNAGU_SECRET_URL_PREFIXES = ["/r/", "/u/", "/t/", "/hooks/", "/privacy/"]
CONTENT_SECURITY_POLICY = security_headers.content_security_policy()
# Behind N trusted reverse proxies (TSUNAGU_TRUSTED_PROXIES) their X-Forwarded-For names the client
# (lib/client_ip.py) and X-Forwarded-Proto the scheme; with none, both headers are ignored.
TSUNAGU_TRUSTED_PROXIES = config.trusted_proxies()
if TSUNAGU_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [BASE_URL]
    # Sent on https requests only: behind a proxy that ends TLS, Django knows a request was https only
    # through the trusted X-Forwarded-Proto, and only then redirects http to https (not /healthz, which
    # load balancers probe over plain http).
    SECURE_HSTS_SECONDS = config.hsts_seconds(BASE_URL)
    SECURE_SSL_REDIRECT = bool(TSUNAGU_TRUSTED_PROXIES)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

_email = config.email()
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.username
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_TIMEOUT = _email.timeout
DEFAULT_FROM_EMAIL = "no-reply@tsunagu.localhost"
# Provider delivery (sendgrid://, postmark://, mailgun://, ses://) goes through django-anymail; its event
# webhooks under /mail/events/ require this basic-auth secret whichever provider is configured.
TSUNAGU_EMAIL_PROVIDER = _email.provider
ANYMAIL = {**_email.anymail, "WEBHOOK_SECRET": config.email_webhook_secret(DATA_DIR)}
# Amazon SES: the SNS topics whose notifications are accepted (empty: any topic with a valid signature).
TSUNAGU_SNS_TOPIC_ARNS = list(_email.sns_topic_arns)
# Requests to ATS APIs (tsunagu.lib.outbound): https to public addresses only, unless these allow more.
TSUNAGU_OUTBOUND_ALLOW_HTTP = config.outbound_allow_http()
TSUNAGU_OUTBOUND_ALLOW_PRIVATE = config.outbound_allow_private()

HUEY = config.queue(DATA_DIR)

# How often the scheduler sweeps the outbox for due messages (seconds).
TSUNAGU_SCHEDULER_INTERVAL = 2.0
# Huey consumer tuning: rendering and MIME building are CPU work, so one process per core; poll quickly
# so a notice that is due now leaves within a second.
TSUNAGU_WORKER_OPTIONS = {
    "workers": max(2, os.cpu_count() or 2),
    "worker_type": "process",
    "initial_delay": 0.05,
    "backoff": 1.3,
    "max_delay": 0.5,
}

# A relay form sent this soon after the notice's delivery is held for review (tsunagu.relay.fraud).
TSUNAGU_QUICK_REGISTRATION_SECONDS = config.quick_registration_seconds()

# The career-support service the notices point to (the relay operator).
TSUNAGU_RELAY = {
    "service_name": "キャリアリレー",
    "operator_name": "キャリアリレー運営事務局",
    "operator_contact": "support@career-relay.example",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "huey": {"level": "WARNING"},
        # Failed logins and lockouts are warnings; the start-up banner is not worth a line.
        "axes": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}
