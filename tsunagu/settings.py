"""Django settings, built from the TSUNAGU_* environment (see tsunagu.config)."""

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from tsunagu import config

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()
BASE_URL = config.base_url()
DEBUG = config.debug()
SECRET_KEY = config.secret_key(DATA_DIR)
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "huey.contrib.djhuey",
    "anymail",
    "tsunagu.core",
    "tsunagu.companies",
    "tsunagu.talent",
    "tsunagu.intake",
    "tsunagu.messaging",
    "tsunagu.relay",
    "tsunagu.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
if BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [BASE_URL]

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
        "django.server": {"level": "WARNING"},
    },
}
