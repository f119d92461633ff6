"""Django settings, derived once from the instance configuration (see ``config.py``)."""

from __future__ import annotations

from typing import Any

import dj_database_url

from cohortvault import config as _config

DATA_DIR = _config.data_dir_from_env()
CONFIG = _config.load(DATA_DIR)

DEBUG = False
SECRET_KEY = CONFIG.secret_key or _config.INSECURE_SECRET_KEY
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "ninja",
    "cohortvault.web",
    "cohortvault.audit",
    "cohortvault.storage",
    "cohortvault.identity",
    "cohortvault.consortium",
    "cohortvault.files",
    "cohortvault.governance",
    "cohortvault.catalog",
    "cohortvault.datasets",
    "cohortvault.imports",
    "cohortvault.projects",
    "cohortvault.deliveries",
    "cohortvault.tickets",
    "cohortvault.corrections",
]

MIDDLEWARE = [
    "cohortvault.web.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cohortvault.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "cohortvault.web.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cohortvault.web.middleware.AccessGateMiddleware",
]

ROOT_URLCONF = "cohortvault.urls"
WSGI_APPLICATION = "cohortvault.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cohortvault.web.context.navigation",
                "cohortvault.governance.context.governance",
            ],
        },
    },
]


def _database(url: str) -> dict[str, Any]:
    if not url:
        url = f"sqlite:///{DATA_DIR / 'cohortvault.sqlite3'}"
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock up front, so the audit chain's
        # read-then-append never deadlocks between two writers.
        db["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        db["CONN_MAX_AGE"] = 0
    return db


DATABASES = {"default": _database(CONFIG.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "consortium:dashboard"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = CONFIG.session_idle_timeout
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "cohortvault_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_MAX_AGE = CONFIG.session_max_age

HTTPS = CONFIG.https or CONFIG.production
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

OTP_TOTP_ISSUER = "cohortvault"
OTP_TOTP_THROTTLE_FACTOR = CONFIG.otp_throttle_factor
OTP_LOGIN_URL = "identity:verify"

# Security keys (WebAuthn) are a second factor only: password first, then the key. The relying
# party ID and the origin a key must answer for are taken per request from its host (which
# ALLOWED_HOSTS vouches for), so the package's static origin list stays unused.
OTP_WEBAUTHN_RP_NAME = "cohortvault"
OTP_WEBAUTHN_RP_ID_CALLABLE = "cohortvault.identity.webauthn.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "cohortvault.identity.webauthn.SecurityKeyHelper"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]  # no static OTP_WEBAUTHN_ALLOWED_ORIGINS

LANGUAGE_CODE = "en"
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = None  # files are served from the installed package (WHITENOISE_USE_FINDERS)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

COHORTVAULT_TRUSTED_PROXIES = CONFIG.trusted_proxies
COHORTVAULT_LOGIN_TOKEN_LIFETIME = CONFIG.login_token_lifetime
COHORTVAULT_LOGIN_FAILURE_LIMIT = CONFIG.login_failure_limit
COHORTVAULT_LOGIN_FAILURE_WINDOW = CONFIG.login_failure_window
COHORTVAULT_MASTER_KEY_FILE = DATA_DIR / CONFIG.master_key_file
COHORTVAULT_RETENTION_DAYS = CONFIG.retention_days
COHORTVAULT_MAX_UPLOAD_SIZE = CONFIG.max_upload_size
COHORTVAULT_AGE_COMMAND = CONFIG.age_command
COHORTVAULT_MIN_FREE_SPACE = CONFIG.min_free_space
COHORTVAULT_UPLOAD_EXPIRY_HOURS = CONFIG.upload_expiry_hours
COHORTVAULT_GC_INTERVAL = CONFIG.gc_interval
COHORTVAULT_QUALITY_CHECK_INTERVAL = CONFIG.quality_check_interval
COHORTVAULT_REDELIVER_CORRECTIONS = CONFIG.redeliver_corrections
COHORTVAULT_SITE_URL = CONFIG.site_url.rstrip("/")
COHORTVAULT_USERNAME_PREFIX = CONFIG.username_prefix
COHORTVAULT_ENROLMENT_CODE_HOURS = CONFIG.enrolment_code_hours
COHORTVAULT_TOKEN_DEFAULT_DAYS = CONFIG.token_default_days
COHORTVAULT_TOKEN_MAX_DAYS = CONFIG.token_max_days
COHORTVAULT_REQUIRE_SECURITY_KEY = CONFIG.require_security_key
COHORTVAULT_REAUTHENTICATION_SECONDS = CONFIG.reauthentication_seconds

EMAIL_BACKEND = CONFIG.email_backend
EMAIL_HOST = CONFIG.email_host
EMAIL_PORT = CONFIG.email_port
EMAIL_HOST_USER = CONFIG.email_host_user
EMAIL_HOST_PASSWORD = CONFIG.email_host_password
EMAIL_USE_TLS = CONFIG.email_use_tls
DEFAULT_FROM_EMAIL = CONFIG.email_from

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {"django.security": {"level": "WARNING"}},
}
CSRF_FAILURE_VIEW = "cohortvault.web.errors.csrf_failure"
