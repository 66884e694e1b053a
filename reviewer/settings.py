"""One settings module, driven by environment variables (see README: Configuration)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# The services profile may run on several hosts; the embedded one is one checkout.
SERVICES_PROFILE = bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"))
if not SECRET_KEY and not DEBUG and SERVICES_PROFILE:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "Set SECRET_KEY when DATABASE_URL or REDIS_URL is set: a key generated on each host"
        " differs between hosts, so teams' provider keys stored by one host could not be"
        " decrypted by another (and sessions would not carry over)."
    )
if not SECRET_KEY:
    # A stable per-checkout key keeps sessions valid across restarts of `make run`.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PORT = env_int("PORT", 8000)
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{PORT}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "reviewer.teams",
    "reviewer.reviews",
    "reviewer.intake",
    "reviewer.api",
    "reviewer.splits",
    "reviewer.counts",
    "reviewer.findings",
    "reviewer.notifications",
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
    "django_htmx.middleware.HtmxMiddleware",
    "reviewer.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "reviewer.urls"
ASGI_APPLICATION = "reviewer.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a bound on a threads worker's connections.
        DATABASES["default"]["ENGINE"] = "reviewer.runs.postgresql"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "reviewer.sqlite3",
            # A file, not memory, so that tests with threads get SQLite's real locking.
            "TEST": {"NAME": VAR_DIR / "test-reviewer.sqlite3"},
            # The worker and the web server write at once: WAL and a busy timeout keep
            # SQLite from answering "database is locked" under that load.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"
WORK_DIR = Path(os.environ.get("WORK_DIR", VAR_DIR / "work"))

MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
MAX_SPEC_BYTES = env_int("MAX_SPEC_BYTES", 50 * 1024 * 1024)
# Token counts of file blocks already seen (preview then worker, re-reviews); exact
# either way. An empty value switches the cache off.
PACK_CACHE_DIR = os.environ.get("PACK_CACHE_DIR", str(VAR_DIR / "cache" / "tokens")) or None
# Preview packs running at once in one web process (each takes a CPU core for seconds).
PREVIEW_CONCURRENCY = max(1, env_int("PREVIEW_CONCURRENCY", 2))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The archive and the spec stop at their limits while they arrive (reviewer/intake/
# limits.py); anything spooled to disk stays under var/.
FILE_UPLOAD_HANDLERS = [
    "reviewer.intake.limits.FieldLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = VAR_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)

# Security headers and cookies.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Redis: the broker, the stream relay and the shared limits when set; otherwise all live
# under var/ and in the database so that `make run` needs no services.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the task's hard time limit, so a running review is never handed
        # to a second worker while the first is still alive.
        "visibility_timeout": env_int("REVIEW_TIME_LIMIT", 3600) + 600,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's filesystem transport, with each message written whole before it shows.
    CELERY_BROKER_TRANSPORT = "reviewer.runs.file_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # The exchange tables; kombu's default is `control/` in the current directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A review's longest run in seconds. The run enforces it itself (keeper.py): the threads
# pool has no time limits; Celery's below apply to a prefork worker only, as a backstop.
REVIEW_TIME_LIMIT = env_int("REVIEW_TIME_LIMIT", 3600)
CELERY_TASK_TIME_LIMIT = REVIEW_TIME_LIMIT + 120
CELERY_TASK_SOFT_TIME_LIMIT = REVIEW_TIME_LIMIT + 60
# A review is seconds of packing and then minutes of waiting on tokens, so a worker runs
# its reviews on threads: one process holds REVIEW_SLOTS of them at once (packing goes
# to PACK_PROCESSES processes). `celery -A reviewer worker` takes both from here.
# SQLite serializes writes, which caps the embedded profile lower (see README: Worker).
REVIEW_SLOTS = env_int("REVIEW_SLOTS", env_int("WORKER_CONCURRENCY", 100 if REDIS_URL else 20))
CELERY_WORKER_POOL = os.environ.get("WORKER_POOL", "threads")
CELERY_WORKER_CONCURRENCY = REVIEW_SLOTS
# Processes that pack for the worker's reviews (CPU-bound, off the streaming threads);
# 0 packs on the review's own thread. A prefork worker always packs in its child. Each
# holds the tokenizer and the libraries (about 150 MB): one per core, four at most, keeps
# a worker's memory bounded on a large host.
PACK_PROCESSES = env_int("PACK_PROCESSES", min(os.cpu_count() or 1, 4))
# PostgreSQL connections one threads worker opens at most; its threads wait for a free
# one. 0: no bound.
WORKER_DB_CONNECTIONS = env_int("WORKER_DB_CONNECTIONS", 20)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The model endpoint. Any OpenAI-compatible /chat/completions endpoint works.
LLM_BASE_URL = os.environ.get("LLM_BASE_URL", "https://api.openai.com/v1")
LLM_API_KEY = os.environ.get("LLM_API_KEY", "")
LLM_MODEL = os.environ.get("LLM_MODEL", "gpt-4.1")
# One gateway (LiteLLM, OpenRouter, a company proxy) in front of every provider: every
# model then goes to LLM_BASE_URL with LLM_API_KEY, under the gateway's model names
# ("catalogue-id=gateway-name" pairs, comma-separated; otherwise the catalogue's
# gateway_model, otherwise the catalogue id).
LLM_GATEWAY = env_bool("LLM_GATEWAY", False)
LLM_GATEWAY_MODELS = {
    name.strip(): gateway.strip()
    for name, gateway in (p.split("=", 1) for p in env_list("LLM_GATEWAY_MODELS") if "=" in p)
}
LLM_CATALOGUE_FILE = os.environ.get("LLM_CATALOGUE_FILE", "")
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 4)
LLM_CONNECT_TIMEOUT = env_int("LLM_CONNECT_TIMEOUT", 10)
LLM_FIRST_TOKEN_TIMEOUT = env_int("LLM_FIRST_TOKEN_TIMEOUT", 600)
LLM_STALL_TIMEOUT = env_int("LLM_STALL_TIMEOUT", 120)
LLM_TOTAL_TIMEOUT = env_int("LLM_TOTAL_TIMEOUT", 3000)
# Requests and tokens per minute per provider key; unset means the catalogue's figures.
LLM_RPM = env_int("LLM_RPM", 0) or None
LLM_TPM = env_int("LLM_TPM", 0) or None
LLM_RATE_WINDOW_SECONDS = env_int("LLM_RATE_WINDOW_SECONDS", 60)
LLM_BREAKER_FAILURES = env_int("LLM_BREAKER_FAILURES", 5)
LLM_BREAKER_OPEN_SECONDS = env_int("LLM_BREAKER_OPEN_SECONDS", 60)
# Seconds the worker waits for a provider's token count before keeping its estimate.
LLM_COUNT_TIMEOUT = env_int("LLM_COUNT_TIMEOUT", 10)

# How often the worker copies the streamed text into the Review row, so that a killed
# worker loses at most this much of what the relay already holds.
REVIEW_CHECKPOINT_SECONDS = env_int("REVIEW_CHECKPOINT_SECONDS", 2)
# A review whose worker stopped renewing its lease for this long is marked failed.
REVIEW_LEASE_SECONDS = env_int("REVIEW_LEASE_SECONDS", 45)
SSE_HEARTBEAT_SECONDS = env_int("SSE_HEARTBEAT_SECONDS", 15)
# Deltas reach the relay in batches this far apart, so that relay writes grow with
# reviews, not with tokens.
RELAY_BATCH_MILLISECONDS = env_int("RELAY_BATCH_MILLISECONDS", 40)
# Split mode: how many parts of one review stream at once (all under the shared limits).
SPLIT_PARALLEL_PARTS = max(1, env_int("SPLIT_PARALLEL_PARTS", 2))
# How long a finished review's stream events are kept; the row keeps the report.
STREAM_KEEP_SECONDS = env_int("STREAM_KEEP_SECONDS", 60)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
REVIEW_REAP_SECONDS = env_int("REVIEW_REAP_SECONDS", 10)
# A queued review no worker has claimed after this long is sent to the queue again.
REVIEW_QUEUE_SECONDS = env_int("REVIEW_QUEUE_SECONDS", 300)
KEY_ENCRYPTION_SECRET = os.environ.get("KEY_ENCRYPTION_SECRET", SECRET_KEY)

# -- Accounts, teams, sharing and the API (issue 5) -------------------------------------
# Email: the console by default; SMTP when EMAIL_URL (smtp://user:pass@host:port, or
# smtp+tls:// / smtp+ssl://) or EMAIL_HOST is set.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_URL:
    from urllib.parse import unquote, urlsplit

    _email = urlsplit(EMAIL_URL)
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or {"smtp+ssl": 465, "smtp+tls": 587}.get(_email.scheme, 25)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme == "smtp+tls"
    EMAIL_USE_SSL = _email.scheme == "smtp+ssl"
if (EMAIL_URL or EMAIL_HOST) and "EMAIL_BACKEND" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "reviewer@localhost")
EMAIL_TIMEOUT = 20

# The cache backs the sign-in throttles and the API's rate limit; Redis when REDIS_URL is
# set so every process agrees.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "reviewer",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
# Failed logins from one address over all usernames within the lockout period (0: off).
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 30)
SIGNUPS_PER_ADDRESS_PER_HOUR = env_int("SIGNUPS_PER_ADDRESS_PER_HOUR", 10)
PASSWORD_RESETS_PER_ADDRESS_PER_HOUR = env_int("PASSWORD_RESETS_PER_ADDRESS_PER_HOUR", 10)
PASSWORD_RESETS_PER_EMAIL_PER_HOUR = env_int("PASSWORD_RESETS_PER_EMAIL_PER_HOUR", 3)
# Calls per API token per window (0: off); the window is a minute unless shortened.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120)
API_RATE_WINDOW_SECONDS = env_int("API_RATE_WINDOW_SECONDS", 60)
# How many reverse proxies in front of the app append to X-Forwarded-For; the throttles
# key on the address the outermost of them saw. 0: the connection's own address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
SIGNUP_ENABLED = env_bool("SIGNUP_ENABLED", True)

CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if env_bool("SECURE_PROXY_SSL", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INVITE_EXPIRY_DAYS = env_int("INVITE_EXPIRY_DAYS", 7)
TEAM_STORAGE_QUOTA_MB = env_int("TEAM_STORAGE_QUOTA_MB", 2048)
# Uploads previewed but never started stop counting against the quota after this many days
# and are then deleted by the clean-up (`manage.py expire_drafts`, the worker's reaper).
DRAFT_EXPIRY_DAYS = env_int("DRAFT_EXPIRY_DAYS", 7)

# -- Notifications: mail when a review ends, and project webhooks -----------------------
# Webhook URLs must be https and resolve to public addresses; 1 also allows http and
# private, loopback and link-local addresses (a receiver on the same network, tests).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_ATTEMPTS = env_int("WEBHOOK_ATTEMPTS", 5)
# The wait before the second attempt; it doubles for each one after.
WEBHOOK_RETRY_SECONDS = float(os.environ.get("WEBHOOK_RETRY_SECONDS", "10"))
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
