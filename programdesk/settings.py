"""Program Desk settings: one module, configured by environment variables.

See docs/deploy.md for every variable. Nothing here needs editing for a local install:
the SQLite database, the secret key and uploaded files all live under ``var/``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

import dj_database_url

# Everything this process creates — the SQLite database and its WAL and shared-memory files,
# import uploads, backups — holds personal data: readable by the service's user only (0600
# files, 0700 folders), whatever umask the process was started with.
os.umask(0o077)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PROGRAMDESK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Made earlier under another umask, say. One not ours to change (a mount point): its owner
# decides.
with contextlib.suppress(OSError):
    VAR_DIR.chmod(0o700)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    # A local install keeps a generated key so sessions survive restarts; production sets
    # SECRET_KEY explicitly (docs/deploy.md).
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # First, so its management commands replace Django's of the same name (changepassword).
    "programdesk",
    "programdesk.core.apps.ProgramDeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "programdesk.core",
    "programdesk.programs",
    "programdesk.people",
    "programdesk.scheduling",
    "programdesk.participation",
    "programdesk.reports",
    "programdesk.imports",
    "programdesk.offline",
    "programdesk.api",
    "programdesk.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their long cache headers.
    "programdesk.core.middleware.NoStoreMiddleware",
    "programdesk.api.middleware.ApiProblemMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "programdesk.core.middleware.SessionLifetimeMiddleware",
    "programdesk.api.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "programdesk.core.middleware.RoleAccessMiddleware",
    "programdesk.core.middleware.PageInputMiddleware",
]

ROOT_URLCONF = "programdesk.urls"
WSGI_APPLICATION = "programdesk.wsgi.application"

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
                "programdesk.web.context_processors.navigation",
            ],
            # The house format's filters (|day, |clock, |moment, |qty, |num) in every template
            # without a {% load %}: docs/front-desk.md.
            "builtins": ["programdesk.web.templatetags.display"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'programdesk.sqlite3'}")
# PostgreSQL starts a server process per connection: a connection per request cost the front
# desk's p95 a third while a large import ran (S8, docs/performance.md: 434 → 276 ms), so on
# PostgreSQL a web worker keeps its connection for a minute (checked before reuse). SQLite
# and the test suite (whose servers come and go) open one per request unless CONN_MAX_AGE says.
_KEEP_CONNECTIONS = ("60" if _DATABASE_URL.startswith(("postgres", "postgresql"))
                     and not env_bool("PROGRAMDESK_TESTING") else "0")
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", _KEEP_CONNECTIONS))
DATABASES = {
    "default": dj_database_url.parse(_DATABASE_URL, conn_max_age=CONN_MAX_AGE,
                                     conn_health_checks=CONN_MAX_AGE > 0),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, whose writers wait for each other at BEGIN without SQLite's long
    # sleeps (core/sqlite/base.py, docs/performance.md S7).
    DATABASES["default"]["ENGINE"] = "programdesk.core.sqlite"
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on the busy timeout instead of failing with "database is locked" when a
    # read transaction tries to upgrade. The timeout is SQLite's busy timeout (30 s); Django
    # itself turns foreign keys on. These run once per connection: with CONN_MAX_AGE above 0
    # (docs/deploy.md) a worker keeps its connection, and runs them once.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
        ),
    }
    # Tests use a file, not memory, so concurrency tests see real locking.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# A read-only replica of the primary (PostgreSQL streaming replication) for report and export
# reads; everything else reads and writes the primary (core/db_router.py, docs/deploy.md).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=CONN_MAX_AGE,
        conn_health_checks=CONN_MAX_AGE > 0,
    )
    # The test suite has no replica: the alias reads the test database itself.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Server-side parameters, and a statement run five times on a connection is prepared (parsed
# and planned once), on every PostgreSQL alias: with client-side binding PostgreSQL planned
# every statement anew, which on the kiosk's check-in was most of the database's time
# (planning the row's read: 1.7 ms, running it: 0.15; docs/performance.md, round 5). Behind
# PgBouncer in transaction mode, set max_prepared_statements there (PgBouncer 1.21+) or
# DATABASE_PREPARE=0 here.
if env_bool("DATABASE_PREPARE", default=True):
    for _database in DATABASES.values():
        if _database["ENGINE"] == "django.db.backends.postgresql":
            _database["OPTIONS"] = {**_database.get("OPTIONS", {}),
                                    "server_side_binding": True, "prepare_threshold": 5}
DATABASE_ROUTERS = ["programdesk.core.db_router.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Django's password check, refused while a username or address is locked out (core.lockout).
AUTHENTICATION_BACKENDS = ["programdesk.core.lockout.LockoutBackend"]
LOCKOUT_WINDOW_SECONDS = int(os.environ.get("LOCKOUT_WINDOW_SECONDS", str(15 * 60)))
LOCKOUT_USERNAME_FAILURES = int(os.environ.get("LOCKOUT_USERNAME_FAILURES", "5"))
LOCKOUT_IP_FAILURES = int(os.environ.get("LOCKOUT_IP_FAILURES", "30"))
# Behind a reverse proxy: the header it sets to the client's address (X-Forwarded-For,
# X-Real-IP) and how many proxies add to it. Unset, the connection's address is used and such
# headers, which any client can send, are ignored.
TRUSTED_PROXY_IP_HEADER = os.environ.get("TRUSTED_PROXY_IP_HEADER", "")
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "1"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Tasks ----------------------------------------------------------------------------------
# Long work (imports, large exports, the purge) runs as tasks of Django's task framework (the
# django-tasks backport), stored in this database and run by `manage.py db_worker` (`run.py
# serve` starts one; see docs/deploy.md). The test suite runs tasks inline, in the test,
# unless a test sets the database backend to drive a real worker.
TASKS = {
    "default": {
        "BACKEND": ("django_tasks.backends.immediate.ImmediateBackend"
                    if env_bool("PROGRAMDESK_TESTING") else "django_tasks_db.DatabaseBackend"),
    },
}
# `manage.py serve` starts its task workers this much nicer (os.nice) than gunicorn: a long
# import then takes the processor time the web workers leave (0: the same priority).
TASK_WORKER_NICE = int(os.environ.get("TASK_WORKER_NICE", "10"))
# A checking or running import whose worker shows no sign of life for this long has died with
# it (a killed or restarted worker); reading it marks it failed. A live import's write
# transaction cannot update its progress row on SQLite, so this is longer than any write.
PROGRAMDESK_TASK_STALE_SECONDS = int(os.environ.get("PROGRAMDESK_TASK_STALE_SECONDS", "300"))
# Uploaded files waiting to be imported, and large exports waiting to be downloaded. With more
# than one app server or task worker machine, a directory they all share (docs/deploy.md).
PROGRAMDESK_MEDIA_DIR = Path(os.environ.get("PROGRAMDESK_MEDIA_DIR", VAR_DIR))
# A list export of more rows than this is written by a task into PROGRAMDESK_MEDIA_DIR/exports/
# (the page shows its progress, then a download link); smaller ones are answered at once.
PROGRAMDESK_EXPORT_TASK_ROWS = int(os.environ.get("PROGRAMDESK_EXPORT_TASK_ROWS", "50000"))
# Such a file can be downloaded for this long; then the purge deletes it.
PROGRAMDESK_EXPORT_KEEP_HOURS = int(os.environ.get("PROGRAMDESK_EXPORT_KEEP_HOURS", "24"))

# --- Locale and time ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The front desk (kiosk, check-in, the attendance sheet and its walk-in panel) speaks these; the
# rest of the app is in English. A page of the front desk is shown in the language chosen at the
# kiosk (web/language.py); the translations are in programdesk/locale (docs/front-desk.md).
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "programdesk" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "programdesk.core.storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or env_bool("PROGRAMDESK_TESTING")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True  # the age above is then an idle timeout
# However active, a session ends this long after its login (core.middleware).
SESSION_MAX_AGE_SECONDS = int(os.environ.get("SESSION_MAX_AGE_SECONDS", str(12 * 60 * 60)))
# Stored idempotent answers (api.middleware) are purged this long after their request.
IDEMPOTENCY_KEEP_HOURS = int(os.environ.get("IDEMPOTENCY_KEEP_HOURS", "24"))
# The offline front desk (docs/front-desk.md): a synced record's answer is kept longer than a
# device keeps what it made offline (24 hours), so a late retry is still recognised; resolved
# conflicts are deleted after this many days (the audit log keeps every decision).
SYNC_KEEP_HOURS = int(os.environ.get("SYNC_KEEP_HOURS", "72"))
SYNC_CONFLICT_KEEP_DAYS = int(os.environ.get("SYNC_CONFLICT_KEEP_DAYS", "90"))
# How often `manage.py serve` runs `manage.py purge` (0: never; run it from cron instead).
PURGE_INTERVAL_SECONDS = int(os.environ.get("PURGE_INTERVAL_SECONDS", "3600"))
# API tokens expire this many days after they are made, unless made with another lifetime.
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "365"))
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
# No inline scripts or styles anywhere (templates load static files); see docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Program Desk behaviour -----------------------------------------------------------------
# Adding a participant whose enrollment is not active is refused unless this is on.
PROGRAMDESK_ALLOW_INACTIVE_ENROLLMENT = env_bool("PROGRAMDESK_ALLOW_INACTIVE_ENROLLMENT")
# Over a schedule's capacity: "warn" (default) or "block".
PROGRAMDESK_CAPACITY_MODE = os.environ.get("PROGRAMDESK_CAPACITY_MODE", "warn")
PROGRAMDESK_MAX_SESSIONS_PER_SCHEDULE = 500

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies can hold personal data; Django's request logger only logs the path.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "INFO"},
    },
}
