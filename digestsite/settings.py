"""Settings for the paper digest: one module, driven by environment variables.

With nothing set, the site runs for development (DEBUG on, SQLite in the
project folder, only local host names). Production sets DJANGO_DEBUG=0, and
then a missing secret key stops start-up instead of falling back to a default
that would be public.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS, on by default outside DEBUG: every request redirected to https, HSTS,
# cookies sent over HTTPS only. DJANGO_HTTPS=0 is for serving plain HTTP on
# loopback (the benchmarks and the soak run), never for a public site.
HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 365 * 24 * 60 * 60)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preload asks browsers to know the site is HTTPS-only before the first visit
# (hstspreload.org); a domain that may ever serve plain HTTP sets this to 0.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
# Behind a load balancer that ends TLS: trust its X-Forwarded-Proto (only
# when it overwrites any such header a client sends).
if env_bool("DJANGO_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers ask /healthz over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
# No script reads a cookie: the admin's scripts take the CSRF token from the form.
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "digestsite.apps.DigestAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_filters",
    "taggit",
    "reversion",
    "reversion_compare",
    "digestsite.apps.AxesConfig",  # django-axes, named in Chinese
    "csp",
    "papers",  # the archive: models, search index, migrations
    "reading",  # the public site
    "editorial",  # the editors' desk (admin)
    "operations",  # backups, health, logs, replicas
    "django_tasks",
    # django-tasks-db, the task queue in the database; `manage.py delivery_worker` runs it
    "digestsite.apps.TasksDatabaseConfig",
    "newsletter",  # subscribers and the mailing of each issue
]

MIDDLEWARE = [
    # First: a cached public page is answered before the rest runs (reading.page_cache).
    "reading.page_cache.PageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages gzipped for browsers that accept it (WhiteNoise serves static files
    # pre-compressed). Public pages carry no secret for BREACH to guess; the
    # admin's CSRF token is masked anew on every response.
    "django.middleware.gzip.GZipMiddleware",
    # ETags on pages, and 304 Not Modified when the browser already has the page.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language from its URL (/en/... or the Chinese default), then
    # a reader's first visit sent to the language their browser asks for.
    "django.middleware.locale.LocaleMiddleware",
    "reading.languages.PreferredLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # With read replicas configured, public pages read from them (operations.db_routers).
    "operations.db_routers.ReplicaReadsMiddleware",
    # Last, as django-axes asks: it turns a lock-out into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses sign-in for locked-out addresses and users before checking passwords.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Static files are served by WhiteNoise with far-future cache headers; a CDN
# in front pulls them from here when DJANGO_STATIC_HOST names it
# (https://cdn.example.org), and pages then link them there (STATIC_URL).
STATIC_HOST = os.environ.get("DJANGO_STATIC_HOST", "").rstrip("/")
STATIC_SOURCES = [STATIC_HOST] if STATIC_HOST else []

# Content-Security-Policy (django-csp): scripts, styles, fonts and images from
# this site (and its static CDN) only, no inline script or style, no plug-ins, no framing, forms
# posted only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, *STATIC_SOURCES],
        "style-src": [SELF, *STATIC_SOURCES],
        "img-src": [SELF, *STATIC_SOURCES, "data:"],
        "font-src": [SELF, *STATIC_SOURCES],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": HTTPS,
    },
}
ROOT_URLCONF = "digestsite.urls"
WSGI_APPLICATION = "digestsite.wsgi.application"

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


def database(url):
    # Connections kept for a minute and checked before reuse, so a database
    # restart costs one failed request at most per connection, not a 500
    # for every request on a dead connection.
    config = dj_database_url.parse(
        url,
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A database that does not answer (a frozen server, a lost network)
        # gives a 503 within seconds instead of holding a worker until
        # gunicorn kills it. The URL's own ?connect_timeout=... wins.
        for name, value in POSTGRES_TIMEOUTS.items():
            config.setdefault("OPTIONS", {}).setdefault(name, value)
    return config


POSTGRES_TIMEOUTS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


DATABASES = {
    "default": database(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# PostgreSQL read replicas (comma-separated URLs): public pages read from them
# (operations.db_routers). For that long after a change, pages are not cached,
# since a replica may not have replayed the change yet.
for number, url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    DATABASES[f"replica{number}"] = database(url)
DATABASE_ROUTERS = ["operations.db_routers.PrimaryReplicaRouter"]
DATABASE_REPLICA_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_LAG_SECONDS", "5"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The interface in two languages (reading.languages): Chinese at the plain URLs,
# English under /en/. The message ids are the Chinese texts, so Chinese needs
# no catalogue; locale/en holds the English one, compiled by `make setup`.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = f"{STATIC_HOST}/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed (gzip and Brotli) copies with content-hashed names, served
    # with far-future cache headers by WhiteNoise.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Tags: Chinese separators split like commas, and "RAG" and "rag" are one tag.
TAGGIT_CASE_INSENSITIVE = True
TAGGIT_TAGS_FROM_STRING = "papers.tag_input.parse_tags"

# Admin sign-in: five failures from one address, or for one user name, lock
# that address or user out for fifteen minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# arXiv's public API, asked when an editor types an arXiv id (editorial.arxiv_client).
# arXiv asks clients to identify themselves and to wait 3 s between requests.
ARXIV_API_URL = os.environ.get("ARXIV_API_URL", "https://export.arxiv.org/api/query")
ARXIV_API_TIMEOUT = float(os.environ.get("ARXIV_API_TIMEOUT", "10"))
ARXIV_API_MIN_INTERVAL = float(os.environ.get("ARXIV_API_MIN_INTERVAL", "3"))
ARXIV_API_USER_AGENT = os.environ.get(
    "ARXIV_API_USER_AGENT", "paper-digest/1.0 (+https://example.org/contact)"
)

# The shared cache: Redis in production (REDIS_URL or CACHE_URL, e.g.
# redis://127.0.0.1:6379/0), local memory in development. It holds the page
# cache (reading.page_cache), the arXiv rate limit and who is editing what, so
# several application processes must share one Redis to agree on them.
# While Redis cannot be reached, the site serves from the database
# (operations.fail_soft_cache); short timeouts keep an unreachable Redis from holding
# requests up.
CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "operations.fail_soft_cache.FailSoftRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "digest",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "paper-digest",
            # Each page takes four entries (three encodings and its last check).
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }
# Whole public pages from the cache, purged by key (reading.page_cache, docs/page-cache.md).
PAGE_CACHE = env_bool("DIGEST_PAGE_CACHE", True)
PAGE_CACHE_SECONDS = int(os.environ.get("DIGEST_PAGE_CACHE_SECONDS", str(24 * 60 * 60)))
# How many cached pages' bodies (one per encoding) each process also keeps in
# its memory, so that a hit from a shared cache reads a page's small head and
# not its whole body; 0 reads every body from the cache.
PAGE_BODIES_KEPT = int(os.environ.get("DIGEST_PAGE_BODIES_KEPT", "600"))
# The font of the social cards (reading.social_cards): a font file with Chinese
# glyphs (.ttc, .otf or .ttf). Unset, Noto Sans CJK is looked for where the
# distributions install it (Debian: fonts-noto-cjk), then through fontconfig.
SOCIAL_CARD_FONT = os.environ.get("DIGEST_SOCIAL_CARD_FONT", "")
# Front caches (Varnish with xkey, deploy/varnish/) purged after each change, as
# host:port or http://host:port, comma-separated; none by default. Public pages
# then carry their keys (xkey) and lifetime (Surrogate-Control) for them.
FRONT_CACHES = [
    address.strip()
    for address in os.environ.get("DIGEST_FRONT_CACHES", "").split(",")
    if address.strip()
]
# How long a save waits for a front cache's purge before leaving it to a retry (seconds).
FRONT_CACHE_TIMEOUT = float(os.environ.get("DIGEST_FRONT_CACHE_TIMEOUT", "0.5"))
# How many rendered pieces of entries (HTML, JSON-LD) each process keeps in
# memory, about 4 KB each, so that a page the page cache misses prints the
# entries it printed before without rendering them again (reading.fragments);
# 0 renders every entry every time.
ENTRY_FRAGMENTS_KEPT = int(os.environ.get("DIGEST_ENTRY_FRAGMENTS_KEPT", "4000"))

# Who else has an issue open in the admin: kept in the cache for this long.
EDITING_PRESENCE_SECONDS = 45

# The default name is translated (locale/en); a name set in the environment is shown as is.
SITE_NAME = os.environ.get("DIGEST_SITE_NAME", gettext_noop("大模型论文双周报"))

# Logs go to standard error, one JSON object a line (time, level, logger,
# message, and for requests the status code and path), for journald or a log
# collector. DJANGO_LOG_FORMAT=text gives plain lines for reading by eye.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "json" if not DEBUG else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_fields": {"()": "operations.logs.RequestFields"},
        "outage_tracebacks": {"()": "operations.logs.OutageTracebacks"},
    },
    "formatters": {
        "json": {
            "()": "operations.logs.JsonLines",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_fields", "outage_tracebacks"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# The site's address, for absolute links in mail (no request to take it from).
SITE_URL = os.environ.get("DIGEST_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Mail. Production sends through any SMTP relay named in the environment
# (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS
# or EMAIL_USE_SSL), or through an ESP with django-anymail (docs/newsletter.md).
# With no relay named, development writes each mail as an .eml file into
# MAIL_FOLDER, where a newcomer can open it (README).
MAIL_FOLDER = Path(os.environ.get("DIGEST_MAIL_FOLDER", BASE_DIR / "var" / "mail"))
if os.environ.get("EMAIL_BACKEND"):
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"]
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "newsletter.mail_folder.EmlFolderBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "大模型论文双周报 <digest@localhost>")
NEWSLETTER_REPLY_TO = os.environ.get("NEWSLETTER_REPLY_TO", "")
# List-Id (RFC 2919): lets mail clients and filters recognise the list.
NEWSLETTER_LIST_ID = os.environ.get("NEWSLETTER_LIST_ID", "digest.localhost")
# An address that unsubscribes whoever writes to it, offered beside the
# one-click link in List-Unsubscribe when set.
NEWSLETTER_UNSUBSCRIBE_MAILTO = os.environ.get("NEWSLETTER_UNSUBSCRIBE_MAILTO", "")
# The proxies in front of the application (nginx on this machine): the
# sign-up page's rate limit per client counts the address they append to
# X-Forwarded-For instead of theirs (newsletter.views.client_address).
NEWSLETTER_TRUSTED_PROXIES = tuple(
    address.strip()
    for address in os.environ.get("DIGEST_TRUSTED_PROXIES", "127.0.0.1,::1").split(",")
    if address.strip()
)
# The sign-up limits (django-ratelimit) count in the shared cache. While Redis
# is down they let sign-ups through rather than refusing everyone: a
# confirmation still goes to an address at most once an hour (kept in the
# database), so nobody can be mailed in a loop meanwhile.
RATELIMIT_FAIL_OPEN = True

# Background work (the mailing of an issue) through Django's task framework
# (the django-tasks backport) with its database backend: any number of
# `manage.py delivery_worker` processes, on any machine that reaches the
# database, take tasks from it (docs/newsletter.md).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("DIGEST_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        # The backend refuses a task for a queue it does not list (newsletter.tasks).
        "QUEUES": ["default", "newsletter"],
    }
}
# How many delivery tasks start at once for a mailing: workers beyond this
# many sit idle on one issue.
NEWSLETTER_PARALLEL_TASKS = int(os.environ.get("NEWSLETTER_PARALLEL_TASKS", "4"))
# How long a worker holds the rows it claimed: a worker that dies leaves
# them to others after this long (newsletter.delivery).
NEWSLETTER_LEASE_SECONDS = int(os.environ.get("NEWSLETTER_LEASE_SECONDS", "300"))
# The wait before the first retry of a message the relay did not take; each
# further retry waits twice as long (newsletter.delivery.retry_delay).
NEWSLETTER_FIRST_RETRY_SECONDS = float(os.environ.get("NEWSLETTER_FIRST_RETRY_SECONDS", "60"))
