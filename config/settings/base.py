"""Settings shared by every environment.

Machine-specific values come from environment variables, read here once. The defaults are the
embedded ones `make run` uses: a SQLite file and Celery's filesystem transport (no server needed).
"""
from __future__ import annotations

import json
import os
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("RADLABEL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return default if value is None else [item.strip() for item in value.split(",") if item.strip()]


def _dev_secret_key() -> str:
    """Return a per-checkout random key, so a laptop never runs on a key that is in git."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "reports",
    "annotation",
    "training",
    # Project glue above every app: the dashboard and demo seeding (config/apps.py).
    "config.apps.RadlabelConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Names the signed-in user to the row-history triggers (PostgreSQL; config/history_actor.py).
    "config.history_actor.HistoryActorMiddleware",
    "reports.middleware.SessionTimeoutMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (login, DRF's own auth).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Marks request.user verified when the session passed a TOTP code; then ours keeps a user who
    # owes a code or (RADLABEL_TOTP=admins) an enrolment away from everything else.
    "django_otp.middleware.OTPMiddleware",
    "reports.totp.middleware.TotpRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "reports.middleware.NoStoreMiddleware",
    # Axes must come last so it sees the result of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "config.context_processors.nav",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'radlabel.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers run beside a writer,
    # IMMEDIATE transactions take the write lock up front (no deadlock on lock upgrade), and a
    # writer waits for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sessions: idle logout and an absolute lifetime, both enforced on the server
# (reports.middleware.SessionTimeoutMiddleware). SECURITY.md promise 9.
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 15))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# django-axes: lock a username out after repeated failures (SECURITY.md promise 8).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# JSON for API clients, the lockout page for browsers; both 429.
AXES_LOCKOUT_CALLABLE = "reports.api.auth.lockout_response"

# Two-step sign-in with a TOTP app (SECURITY.md promise 8, docs/SECURITY.md): "off"; "optional" (users
# may enrol from their account page; enrolled users then give a code after the password, on the
# login page and the token endpoint); "admins" (as optional, and staff must enrol before anything).
TOTP_MODE = os.environ.get("RADLABEL_TOTP", "optional").strip().lower()
if TOTP_MODE not in {"off", "optional", "admins"}:
    raise ImproperlyConfigured(f"RADLABEL_TOTP must be off, optional or admins, not {TOTP_MODE!r}")
OTP_TOTP_ISSUER = "radlabel"
# The Django admin may delete a lost device but never show its secret (an admin could copy it).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Wrong codes count toward the axes lockout above (one limit per username for password and code);
# django-otp's own growing delay would also refuse a right code typed soon after a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# collectstatic fills STATIC_ROOT in production; until then WhiteNoise serves from the finders
# and would warn on every start that the folder is missing.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
# Serve straight from the finders when collectstatic has not run (make run, tests).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"
UPLOAD_DIR = VAR_DIR / "uploads"
# De-identified DICOM files, one folder per protocol (reports.services.dicom).
DICOM_STORAGE_DIR = Path(os.environ.get("DICOM_STORAGE_DIR", VAR_DIR / "dicom"))
# The only server folder DICOM imports started from the web may read (a drop folder).
DICOM_IMPORT_ROOT = Path(os.environ.get("DICOM_IMPORT_ROOT", VAR_DIR / "dicom-inbox"))
# Rendered slice PNGs, keyed by the file's SHA-256 (reports.services.images).
IMAGE_CACHE_DIR = Path(os.environ.get("IMAGE_CACHE_DIR", VAR_DIR / "cache" / "images"))
# PACS sources by name (reports.services.pacs), JSON: {"main": {"dicomweb": "https://pacs/dicom-web"},
# "dimse": {"host": "pacs", "port": 104, "ae_title": "PACS", "our_ae_title": "RADLABEL", "our_port": 11113}}
PACS_SOURCES: dict = json.loads(os.environ.get("PACS_SOURCES", "{}"))
# Monitoring alerts go out by email (ids only, no PHI). The laptop default prints them in the
# worker's log rather than dialling an SMTP server that is not there; production sets SMTP.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "radlabel@localhost")
# Uploads above this are refused before they reach the importer (SECURITY.md promise 12).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 512 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The size limit is enforced while the body streams in: CSRF reads the whole body before any
# view runs, so a check in the view would come after an oversize file was already on disk.
FILE_UPLOAD_HANDLERS = [
    "reports.importers.upload_limit.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {"auth": "30/min"},
    # No OPTIONS metadata: it would answer 200 for objects out of scope instead of 404.
    "DEFAULT_METADATA_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "radlabel API",
    "DESCRIPTION": "IRB-scoped studies, reports, soft labels and confirmations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes the API, not data, but every route needs a signed-in caller (promise 11).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The 401 / 403 / 404 that DRF answers around every view, documented once (promise 11).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reports.api.openapi.document_error_responses",
    ],
}

# Celery: ids only in messages; job state lives in the database (reports.Job).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER", VAR_DIR / "broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's filesystem transport: one folder is both in- and out-box, so the web process and
    # the worker exchange messages through it without a broker server.
    CELERY_BROKER_FOLDER.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        # Without this kombu keeps its exchange table in ./control of whatever directory it runs in.
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }

# Reading queue: a study handed to a reader is held for them this long; a skipped study stays
# out of that reader's queue this long; a confirmation can be undone within this window.
CONFIRM_LEASE_SECONDS = env_int("CONFIRM_LEASE_SECONDS", 300)
CONFIRM_SKIP_SECONDS = env_int("CONFIRM_SKIP_SECONDS", 3600)
CONFIRM_UNDO_SECONDS = env_int("CONFIRM_UNDO_SECONDS", 30)

# The reaper re-queues jobs whose worker died (reports.tasks.reap_jobs). `make run` embeds beat in
# its worker (-B); production runs one `celery -A config beat` beside the workers.
CELERY_BEAT_SCHEDULE = {
    "reap-jobs": {"task": "reports.tasks.reap_jobs", "schedule": env_int("JOB_REAP_EVERY_SECONDS", 60)},
    # Training trials heartbeat on their own rows (Optuna's ask / tell has none): training.tasks.
    "reap-training-trials": {"task": "training.tasks.reap_trials", "schedule": env_int("JOB_REAP_EVERY_SECONDS", 60),
                             "options": {"queue": "training"}},
}

# A job whose worker stopped heartbeating this long ago is failed or re-queued by the reaper.
JOB_HEARTBEAT_TIMEOUT = timedelta(seconds=env_int("JOB_HEARTBEAT_SECONDS", 120))
# Training (training.services.trials): a trial without heartbeat this long is failed and retried;
# torch threads per trial; the Optuna storage (default: VAR_DIR/optuna/ on SQLite, schema "optuna" on PostgreSQL).
TRAINING_TRIAL_HEARTBEAT_SECONDS = env_int("TRAINING_TRIAL_HEARTBEAT_SECONDS", 90)
TRAINING_THREADS = env_int("TRAINING_THREADS", 1)
TRAINING_OPTUNA_STORAGE = os.environ.get("TRAINING_OPTUNA_STORAGE", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Request logs would carry query strings; ours never hold PHI, but keep them terse anyway.
    # axes logs every successful login's reset at INFO ("Deleted 0 failed login attempts").
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
