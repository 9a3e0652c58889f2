"""Settings for Streamflow DataOps: one file, every deploy-time value from the environment.

See .env.example for the full list. Defaults are safe for a laptop: DEBUG off, SQLite under var/,
an embedded (filesystem) Celery broker under var/.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

DEV_SECRET_KEY = "django-insecure-streamflow-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set DEBUG=1 for development."
        )
    SECRET_KEY = DEV_SECRET_KEY
elif SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a real SECRET_KEY for production.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "bootstrap",
    "django_celery_beat",
    "django_celery_results",
    "axes",
    # django-ninja (the API): listed so its docs page renders with its own bundled Swagger UI files, not a CDN.
    "ninja",
    "streamflow",
    "stations",
    "pulls",
    "acquisition",
    "monitoring",
    # The composition on top (root urls, /health/, demo_setup, runstack): it may import every app, none imports it.
    "streamflow.composition",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (streamflow/logs.py).
    "streamflow.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "streamflow.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "streamflow.middleware.SessionIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # With DEBUG on (make run, make demo): the product's 404 page, not Django's list of every URL.
    "streamflow.not_found.NotFoundPageMiddleware",
    # Last, as axes asks: it turns a lockout flagged during the request into the login page's 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "streamflow.composition.urls"
WSGI_APPLICATION = "streamflow.wsgi.application"
ASGI_APPLICATION = "streamflow.asgi.application"

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
                "django.template.context_processors.csp",
                "streamflow.context_processors.site",
                "stations.context_processors.basket",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'streamflow.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside a writer, and the busy timeout
    # plus IMMEDIATE transactions make writers queue instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# DATABASE_POOLER=transaction: DATABASE_URL points at a transaction-mode pooler (PgBouncer's pool_mode=transaction),
# where consecutive transactions of one Django connection may run on different server sessions. Nothing may then
# outlive a transaction on the server: no prepared statements (Django already turns psycopg's off unless OPTIONS
# asks; forced off here, so a `?prepare_threshold=` in the URL cannot bring them back — PgBouncer before 1.21, e.g.
# Debian bookworm's 1.18, cannot route them) and no server-side cursors (QuerySet.iterator() would DECLARE a cursor
# WITH HOLD in one session and FETCH from another). Django's own pool ("pool" in OPTIONS) is a second pooler in
# front of the first: refused. See README "Behind PgBouncer".
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction"):
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty or 'transaction', not {DATABASE_POOLER!r}.")
if DATABASE_POOLER:
    if "postgresql" not in DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_POOLER=transaction needs a PostgreSQL DATABASE_URL (the pooler's).")
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if _options.get("pool"):
        raise ImproperlyConfigured("DATABASE_POOLER=transaction and Django's own pool (OPTIONS 'pool'): use one.")
    _options["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The axes backend comes first: a locked-out attempt stops there, before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "monitoring:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True
# ISO dates and 24-hour times with the zone named, on every page and in the admin (streamflow/formats/en).
FORMAT_MODULE_PATH = ["streamflow.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Leaflet's JS/CSS for the maps, from the django-leaflet package, served as static/leaflet/…. Not in INSTALLED_APPS:
# its admin module imports GeoDjango, which needs GDAL; we use its static files only. find_spec does not import it.
_leaflet = importlib.util.find_spec("leaflet")
if _leaflet is None or not _leaflet.submodule_search_locations:
    raise ImproperlyConfigured("django-leaflet is not installed (make install): the maps need its Leaflet files.")
STATICFILES_DIRS.append(("leaflet", Path(_leaflet.submodule_search_locations[0]) / "static" / "leaflet"))
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Hashed, compressed files once `collectstatic` has run (the Docker image); plain files otherwise.
_collected = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _collected
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (make run, tests), whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ---------------------------------------------------------------------------------------
# A session ends after SESSION_IDLE_MINUTES without activity (streamflow.middleware.SessionIdleTimeoutMiddleware
# moves the expiry forward as the user works), not two weeks after login.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=120) * 60
if SESSION_COOKIE_AGE < 60:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES must be at least 1 (minutes without activity before logout).")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Production is HTTPS: Secure cookies and HSTS (sent on HTTPS responses only) unless PLAIN_HTTP says the site is
# served over plain HTTP — on with DEBUG (make run), else an explicit opt-out (a private network, a local stack).
PLAIN_HTTP = env.bool("PLAIN_HTTP", default=DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not PLAIN_HTTP)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if PLAIN_HTTP else 365 * 24 * 3600)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Maps (the station search's map view, the status maps) ----------------------------------------------------
# Background tiles, a Leaflet URL template. Empty: no tiles (and no request leaves the browser); the maps draw the
# US state outlines shipped in static/map/ instead, as they do offline and in tests.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str(
    "MAP_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
_tiles = urlsplit(MAP_TILE_URL.replace("{s}", "*"))
if MAP_TILE_URL and (_tiles.scheme not in ("http", "https") or not _tiles.netloc):
    raise ImproperlyConfigured(
        f"MAP_TILE_URL must be an http(s) URL template like https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png "
        f"(or empty for no tiles), not {MAP_TILE_URL!r}."
    )
# The tile host joins the CSP's img-src ({s} subdomains become a wildcard).
MAP_TILE_ORIGINS = [f"{_tiles.scheme}://{_tiles.netloc}"] if MAP_TILE_URL else []
# The station map's points (stations/map_views.py) are kept this many seconds per search in each web process; a
# new or edited station shows at once (the catalog's version is in the key), a deleted one within this. 0: none.
MAP_POINTS_CACHE_SECONDS = env.int("MAP_POINTS_CACHE_SECONDS", default=300)
if MAP_POINTS_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("MAP_POINTS_CACHE_SECONDS must be 0 (no cache) or more.")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Up to MAP_POINTS_LIMIT (20,000) rows an entry, ~1.7 MB pickled: 32 searches at most, ~55 MB a process.
    "map_points": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "map-points",
        "OPTIONS": {"MAX_ENTRIES": 32},
    },
}

from django.utils.csp import CSP  # noqa: E402

# Everything is served from our own origin: no CDN, no inline scripts. htmx swaps need no eval.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    # Inline style attributes carry computed widths (progress bars); scripts stay strictly same-origin.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", *MAP_TILE_ORIGINS],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Login throttling (django-axes; streamflow/login.py) ----------------------------------------------------
# A username is locked out from one address after LOGIN_FAILURE_LIMIT failures in a row, for LOGIN_COOLOFF_MINUTES;
# an address is refused after LOGIN_ADDRESS_FAILURE_LIMIT failures over any usernames in that time. The client
# address is the connection's, or behind one of TRUSTED_PROXIES the one that proxy saw (streamflow/client_address.py).
# Addresses or networks (CIDR) of your reverse proxies: only their X-Forwarded-For is believed. Empty: none is.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES holds {_proxy!r}, not an address or network; use e.g. 10.0.0.5,172.18.0.0/16."
        ) from None
AXES_CLIENT_IP_CALLABLE = "streamflow.client_address.client_address"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
_login_cooloff_minutes = env.int("LOGIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_login_cooloff_minutes)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
if min(AXES_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT, _login_cooloff_minutes) < 1:
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be positive whole numbers."
    )
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False  # no start-up banner; lockout lines name the username and address
AXES_RESET_ON_SUCCESS = True
# A refused attempt is not recorded again: it neither extends the lock nor writes a row (a read is all it costs).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Lockouts are logged with the username and the address (axes masks both by default); passwords are always masked.
AXES_SENSITIVE_PARAMETERS: list[str] = []
AXES_HANDLER = "streamflow.login.LoginAttemptHandler"
AXES_USERNAME_CALLABLE = "streamflow.login.attempted_username"
AXES_LOCKOUT_CALLABLE = "streamflow.login.locked_out"

# --- Station basket -----------------------------------------------------------------------------------------
# At most this many stations in a user's basket: the basket page and the configuration form built from it list
# them all, and "add all" refuses to pass it.
BASKET_MAX_STATIONS = env.int("BASKET_MAX_STATIONS", default=2000)

# --- Long downloads (monitoring/streams.py) -------------------------------------------------------------------
# Streams one user may hold at once (the Data page's CSV export and the API's values share them); past it, 429.
EXPORTS_PER_USER = env.int("EXPORTS_PER_USER", default=2)
# A stream whose client does not take its next slice (a few hundred KB) within this many seconds is cut off,
# freeing its web thread (under gunicorn).
STREAM_SEND_TIMEOUT_SECONDS = env.float("STREAM_SEND_TIMEOUT_SECONDS", default=30.0)
# Heavy pages one user may have loading at once, of each kind (the quality pages, monitoring/heavy_pages.py; the
# station map's points, stations/map_views.py); past it, 429.
HEAVY_PAGES_PER_USER = env.int("HEAVY_PAGES_PER_USER", default=2)
if EXPORTS_PER_USER < 1 or STREAM_SEND_TIMEOUT_SECONDS <= 0 or HEAVY_PAGES_PER_USER < 1:
    raise ImproperlyConfigured(
        "EXPORTS_PER_USER, STREAM_SEND_TIMEOUT_SECONDS and HEAVY_PAGES_PER_USER must be positive."
    )

# --- API (api/) -------------------------------------------------------------------------------------------
# Requests per user per minute (all their tokens and the session together), and per client address (every call,
# failed ones included), counted in the database so every web process shares the count; past either, 429.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
API_ADDRESS_RATE_LIMIT_PER_MINUTE = env.int("API_ADDRESS_RATE_LIMIT_PER_MINUTE", default=1200)
if API_RATE_LIMIT_PER_MINUTE < 1 or API_ADDRESS_RATE_LIMIT_PER_MINUTE < 1:
    raise ImproperlyConfigured(
        "API_RATE_LIMIT_PER_MINUTE and API_ADDRESS_RATE_LIMIT_PER_MINUTE must be at least 1 (requests per minute)."
    )

# --- Email (alerts) -----------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if not env.str("EMAIL_HOST", default="")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="streamflow@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
# Absolute links in alert emails (no request at hand in a worker).
SITE_URL = (env.str("SITE_URL", default="") or "http://127.0.0.1:8000").rstrip("/")  # set but empty: the default
ALERT_CONSECUTIVE_FAILURES = env.int("ALERT_CONSECUTIVE_FAILURES", default=3)
ALERT_AUTO_DISABLE = env.bool("ALERT_AUTO_DISABLE", default=False)
STALE_DAILY_HOURS = env.int("STALE_DAILY_HOURS", default=72)
STALE_CONTINUOUS_HOURS = env.int("STALE_CONTINUOUS_HOURS", default=6)
# Data quality screening (monitoring/quality.py; the quality pages show the values in force). A gap is listed when
# more than this much is missing in a row; a flat line is the same non-zero value for at least this long; a spike
# is a value more than QUALITY_SPIKE_FACTOR times both neighbours (or less than 1/factor of both) that also
# differs from them by QUALITY_SPIKE_MIN_JUMP ft³/s or more.
QUALITY_GAP_DAILY_DAYS = env.int("QUALITY_GAP_DAILY_DAYS", default=1)
QUALITY_GAP_CONTINUOUS_INTERVALS = env.int("QUALITY_GAP_CONTINUOUS_INTERVALS", default=2)
QUALITY_FLAT_DAILY_DAYS = env.int("QUALITY_FLAT_DAILY_DAYS", default=7)
QUALITY_FLAT_CONTINUOUS_HOURS = env.int("QUALITY_FLAT_CONTINUOUS_HOURS", default=24)
QUALITY_ZERO_DAILY_DAYS = env.int("QUALITY_ZERO_DAILY_DAYS", default=1)
QUALITY_ZERO_CONTINUOUS_HOURS = env.int("QUALITY_ZERO_CONTINUOUS_HOURS", default=1)
QUALITY_SPIKE_FACTOR = env.float("QUALITY_SPIKE_FACTOR", default=3.0)
QUALITY_SPIKE_MIN_JUMP = env.float("QUALITY_SPIKE_MIN_JUMP", default=1.0)
if not QUALITY_SPIKE_FACTOR > 1:
    raise ImproperlyConfigured("QUALITY_SPIKE_FACTOR must be more than 1 (a spike is that many times its neighbours).")
# Screening per parameter (stations/parameters.py): the rules above are discharge's; other parameters override some
# of them. A parameter not listed uses the rules above. The defaults, and why:
#   00065 gage height      spike 1.5× and ≥ 2 ft (stage moves by feet, not by multiples of itself)
#   00010 water temp.      negatives are normal (°C, below 0 under ice); flat ≥ 5 days / 6 hours (a stuck or dry
#                          sensor: water temperature always moves through the day); zero runs ≥ 30 days / 48 hours
#                          (water holds at 0 °C under ice); spike 1.5× and ≥ 4 °C
#   00095 conductance      spike 2× and ≥ 100 µS/cm
#   63680 turbidity        spike 5× and ≥ 20 FNU (storms do multiply it); zero runs ≥ 30 days / 7 days
#   00300 dissolved oxygen spike 1.5× and ≥ 3 mg/L
#   00400 pH               spike 1.2× and ≥ 1 unit; flat ≥ 12 hours
#   00045 precipitation    flat lines, zero runs and spikes are off (dry spells and bursts are the record); negatives
#                          are still errors
# QUALITY_PARAMETER_RULES (JSON) overrides per parameter, key by key, e.g.
#   QUALITY_PARAMETER_RULES='{"00010": {"flat_continuous_hours": 12}, "00065": {"negative_is_error": false}}'
# Keys: negative_is_error, flat_daily_days, flat_continuous_hours, zero_daily_days, zero_continuous_hours,
# spike_factor, spike_min_jump, gap_daily_days, gap_continuous_intervals.
_OFF = 10**6  # days / hours no run reaches: the rule is off
QUALITY_PARAMETER_DEFAULTS = {
    "00065": {"spike_factor": 1.5, "spike_min_jump": 2.0},
    "00010": {
        "negative_is_error": False, "flat_daily_days": 5, "flat_continuous_hours": 6, "zero_daily_days": 30,
        "zero_continuous_hours": 48, "spike_factor": 1.5, "spike_min_jump": 4.0,
    },
    "00095": {"spike_factor": 2.0, "spike_min_jump": 100.0},
    "63680": {"spike_factor": 5.0, "spike_min_jump": 20.0, "zero_daily_days": 30, "zero_continuous_hours": 168},
    "00300": {"spike_factor": 1.5, "spike_min_jump": 3.0},
    "00400": {"spike_factor": 1.2, "spike_min_jump": 1.0, "flat_continuous_hours": 12},
    "00045": {
        "flat_daily_days": _OFF, "flat_continuous_hours": _OFF, "zero_daily_days": _OFF,
        "zero_continuous_hours": _OFF, "spike_factor": float(_OFF), "spike_min_jump": float(_OFF),
    },
}  # fmt: skip
_RULE_TYPES = {
    "negative_is_error": bool, "flat_daily_days": int, "flat_continuous_hours": int, "zero_daily_days": int,
    "zero_continuous_hours": int, "spike_factor": float, "spike_min_jump": float, "gap_daily_days": int,
    "gap_continuous_intervals": int,
}  # fmt: skip


def _parameter_rules(overrides: object) -> dict[str, dict]:
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured('QUALITY_PARAMETER_RULES must be a JSON object: {"00010": {"spike_factor": 2}}.')
    rules = {code: dict(values) for code, values in QUALITY_PARAMETER_DEFAULTS.items()}
    for code, values in overrides.items():
        if not (isinstance(code, str) and len(code) == 5 and code.isdigit()) or not isinstance(values, dict):
            raise ImproperlyConfigured(f"QUALITY_PARAMETER_RULES: {code!r} is not a 5-digit parameter code with rules.")
        for key, value in values.items():
            kind = _RULE_TYPES.get(key)
            if kind is None or not isinstance(value, (int, float) if kind is float else kind) or (
                kind is int and isinstance(value, bool)
            ):
                raise ImproperlyConfigured(
                    f"QUALITY_PARAMETER_RULES[{code!r}]: {key}={value!r} is not a rule; use {', '.join(_RULE_TYPES)}."
                )
        rules.setdefault(code, {}).update(values)
    for code, values in rules.items():
        if values.get("spike_factor", QUALITY_SPIKE_FACTOR) <= 1:
            raise ImproperlyConfigured(f"QUALITY_PARAMETER_RULES[{code!r}]: spike_factor must be more than 1.")
    return rules


QUALITY_PARAMETER_RULES = _parameter_rules(env.json("QUALITY_PARAMETER_RULES", default={}))
# Quality alerts (monitoring/quality_alerts.py), both off (0) by default. QUALITY_ALERT_GAP_DAYS=N: alert when a gap
# (as listed above) lies within the last N days, followed by a stored value, at a series whose N days before had no
# gap. QUALITY_ALERT_FLAT_DAYS=N: alert while a flat line (QUALITY_FLAT_*) reaches the newest stored value and that
# value is within the last N days.
QUALITY_ALERT_GAP_DAYS = env.int("QUALITY_ALERT_GAP_DAYS", default=0)
QUALITY_ALERT_FLAT_DAYS = env.int("QUALITY_ALERT_FLAT_DAYS", default=0)
if QUALITY_ALERT_GAP_DAYS < 0 or QUALITY_ALERT_FLAT_DAYS < 0:
    raise ImproperlyConfigured(
        "QUALITY_ALERT_GAP_DAYS and QUALITY_ALERT_FLAT_DAYS must be 0 (off) or a number of days, "
        f"not {QUALITY_ALERT_GAP_DAYS} and {QUALITY_ALERT_FLAT_DAYS}."
    )

# --- USGS Water Data API ----------------------------------------------------------------------------
USGS_API_URL = env.str("USGS_API_URL", default="https://api.waterdata.usgs.gov/ogcapi/v1").rstrip("/")
USGS_API_KEY = env.str("USGS_API_KEY", default="")
USGS_PAGE_LIMIT = env.int("USGS_PAGE_LIMIT", default=50000)
if not 1 <= USGS_PAGE_LIMIT <= 50000:
    raise ImproperlyConfigured(
        f"USGS_PAGE_LIMIT must be between 1 and 50000 (the API's maximum), not {USGS_PAGE_LIMIT}."
    )
# Requests per hour shared by every worker (the api.data.gov gateway allows ~4000/h with a key).
USGS_REQUESTS_PER_HOUR = env.int("USGS_REQUESTS_PER_HOUR", default=3600)
# First retry wait (s) after a 429/5xx; doubles with full jitter up to 30 s. Tests shorten it.
USGS_BACKOFF_BASE = env.float("USGS_BACKOFF_BASE", default=0.5)
# What a hostile or broken upstream can make a worker do (acquisition/usgs/transport.py): the largest answer read
# (decompressed; a full 50,000-row page is ~15 MB), the longest a whole request may take (a drip-feeding server
# restarts the socket timeout with every byte), the most next links one request chain follows.
USGS_MAX_BODY_MB = env.int("USGS_MAX_BODY_MB", default=64)
USGS_REQUEST_DEADLINE_SECONDS = env.float("USGS_REQUEST_DEADLINE_SECONDS", default=180.0)
USGS_MAX_PAGES = env.int("USGS_MAX_PAGES", default=1000)
if USGS_MAX_BODY_MB < 1 or USGS_REQUEST_DEADLINE_SECONDS <= 0 or USGS_MAX_PAGES < 1:
    raise ImproperlyConfigured("USGS_MAX_BODY_MB, USGS_REQUEST_DEADLINE_SECONDS and USGS_MAX_PAGES must be positive.")

# The Statistics API (day-of-year percentiles, issue 24): its own base URL, the same key and request budget.
USGS_STATISTICS_URL = env.str("USGS_STATISTICS_URL", default="https://api.waterdata.usgs.gov/statistics/v0").rstrip("/")
# Percentiles (acquisition/normals.py): a day's normals with fewer years than this draw no band and rank nothing;
# the weekly refresh re-fetches every mirrored daily series' normals (they change when USGS approves a water year).
PERCENTILE_MIN_SAMPLES = env.int("PERCENTILE_MIN_SAMPLES", default=10)
NORMALS_REFRESH_DAYS = env.int("NORMALS_REFRESH_DAYS", default=7)
# Alerts on WaterWatch classes (monitoring/percentile_alerts.py): the newest N daily values all below the 10th
# percentile (drought watch) / all above the 90th (high flow). 0 turns the alert off.
PERCENTILE_ALERT_LOW_DAYS = env.int("PERCENTILE_ALERT_LOW_DAYS", default=3)
PERCENTILE_ALERT_HIGH_DAYS = env.int("PERCENTILE_ALERT_HIGH_DAYS", default=1)
if PERCENTILE_MIN_SAMPLES < 1 or NORMALS_REFRESH_DAYS < 1:
    raise ImproperlyConfigured("PERCENTILE_MIN_SAMPLES and NORMALS_REFRESH_DAYS must be 1 or more.")
if PERCENTILE_ALERT_LOW_DAYS < 0 or PERCENTILE_ALERT_HIGH_DAYS < 0:
    raise ImproperlyConfigured("PERCENTILE_ALERT_LOW_DAYS and PERCENTILE_ALERT_HIGH_DAYS must be 0 (off) or more.")

# --- Celery -------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's filesystem transport with atomic writes (see streamflow/broker.py).
    CELERY_BROKER_TRANSPORT = "streamflow.broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest station task (its hard time limit), so Redis never redelivers a task
    # that is still running on a live worker.
    # (Twice the time limit when that is set above an hour: CELERY_TASK_TIME_LIMIT is read below, from the same env.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": max(2 * 3600, 2 * env.int("CELERY_TASK_TIME_LIMIT", default=3600))
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# The janitor (every 60 s) resumes a running station silent this long (its worker's own heartbeat goes stale
# after 2 minutes), and re-sends pending stations silent this long (their task may have been lost with the broker).
ACQUISITION_STATION_SILENT_SECONDS = env.int("ACQUISITION_STATION_SILENT_SECONDS", default=300)
ACQUISITION_PENDING_SILENT_SECONDS = env.int("ACQUISITION_PENDING_SILENT_SECONDS", default=900)
# Batches (acquisition/planning.py): at most this many series share one request (more than one 8 KB URL holds
# go in a CQL2 POST body), and a batch takes stations while the values it expects stay within this budget (about
# one 50,000-row page).
ACQUISITION_BATCH_SERIES = env.int("ACQUISITION_BATCH_SERIES", default=2000)
ACQUISITION_BATCH_VALUES = env.int("ACQUISITION_BATCH_VALUES", default=50_000)
if ACQUISITION_BATCH_SERIES < 1 or ACQUISITION_BATCH_VALUES < 1:
    raise ImproperlyConfigured("ACQUISITION_BATCH_SERIES and ACQUISITION_BATCH_VALUES must be at least 1.")
# Continuous series look for revisions in their last 1000 days at every run, and over their whole range (in pieces
# of 1000 days) when this many hours have passed since the last such deep check (acquisition/planning.py).
ACQUISITION_DEEP_REVISION_HOURS = env.int("ACQUISITION_DEEP_REVISION_HOURS", default=168)
if ACQUISITION_DEEP_REVISION_HOURS < 0:
    raise ImproperlyConfigured("ACQUISITION_DEEP_REVISION_HOURS must be 0 (every run) or more.")
# PostgreSQL partitions continuous values by month (acquisition/partitions.py); beat keeps this many months ahead
# of the current one created.
CONTINUOUS_PARTITIONS_AHEAD = env.int("CONTINUOUS_PARTITIONS_AHEAD", default=3)
if not 1 <= CONTINUOUS_PARTITIONS_AHEAD <= 24:
    raise ImproperlyConfigured("CONTINUOUS_PARTITIONS_AHEAD must be between 1 and 24 (months).")
# Keep only the last N years of continuous values (0: keep them all). Older ones are dropped a whole month's partition
# at a time on PostgreSQL (rows on SQLite) by the same hourly beat task; daily values are never dropped.
CONTINUOUS_RETENTION_YEARS = env.int("CONTINUOUS_RETENTION_YEARS", default=0)
if CONTINUOUS_RETENTION_YEARS < 0:
    raise ImproperlyConfigured("CONTINUOUS_RETENTION_YEARS must be 0 (keep every value) or more.")
CELERY_TASK_TRACK_STARTED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "streamflow.beat:HeartbeatScheduler"
# Housekeeping schedules (beat stores them in the database beside the per-configuration tasks).
CELERY_BEAT_SCHEDULE = {
    # Resumes stations whose worker was lost (worker heartbeats are 15 s apart) and re-sends tasks the broker lost;
    # a station lost three times fails. Never "running" forever.
    "acquisition-janitor": {"task": "acquisition.tasks.janitor", "schedule": 60.0},
    # PostgreSQL: continuous values' monthly partitions, this month and CONTINUOUS_PARTITIONS_AHEAD more (/health/
    # fails when next month's is missing). Hourly: a missed tick or two costs nothing with months ahead.
    "acquisition-partitions": {"task": "acquisition.tasks.ensure_partitions", "schedule": 3600.0},
    # Alerts for stations whose newest value is older than STALE_*_HOURS.
    "monitoring-stale-stations": {"task": "monitoring.tasks.check_stale_stations", "schedule": 1800.0},
    # Clears quality alerts (QUALITY_ALERT_*) whose gap or flat line has left the window; runs open them.
    "monitoring-quality-alerts": {"task": "monitoring.tasks.recheck_quality_alerts", "schedule": 3600.0},
    # Repairs (and logs) PeriodicTasks that drifted from their configurations, as `manage.py sync_schedules` does.
    "pulls-reconcile-schedules": {"task": "pulls.tasks.reconcile_schedules", "schedule": 600.0},
    # Day-of-year normals of the mirrored daily series never fetched or older than NORMALS_REFRESH_DAYS, and USGS's
    # revision notes of their stations (acquisition/normals.py); a database check when nothing is due.
    "acquisition-refresh-normals": {"task": "acquisition.normal_tasks.refresh_normals", "schedule": 3600.0},
    # Drought-watch / high-flow alerts on the newest daily values' classes (PERCENTILE_ALERT_*); runs also queue it.
    "monitoring-percentile-alerts": {"task": "monitoring.percentile_alerts.check", "schedule": 3600.0},
}

# --- Logging --------------------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (web, worker and beat alike; streamflow/logs.py). Every line is scrubbed
# of keys and tokens, and carries the run / configuration / request ids where they are known.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "streamflow.logs.ContextFilter"},
        "redact": {"()": "streamflow.logs.RedactingFilter"},
    },
    "formatters": {
        "plain": {"()": "streamflow.logs.PlainFormatter", "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "streamflow.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context", "redact"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every failure at WARNING and its bookkeeping at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Operations (README "Operating it") -------------------------------------------------------------------
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is switched off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Duration histograms cover runs and stations that finished in this many recent hours.
METRICS_WINDOW_HOURS = env.int("METRICS_WINDOW_HOURS", default=24)
if METRICS_WINDOW_HOURS < 1:
    raise ImproperlyConfigured("METRICS_WINDOW_HOURS must be at least 1.")

# Error tracking: set SENTRY_DSN to send errors (web and Celery) to Sentry, without personal data. Unset, the SDK is
# not even imported.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from streamflow.sentry import init as _init_sentry

    _init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Alert channels (monitoring/channels.py): a failed delivery is tried again this many times, waiting
# ALERT_RETRY_BACKOFF_SECONDS, then twice that, and so on.
ALERT_DELIVERY_RETRIES = env.int("ALERT_DELIVERY_RETRIES", default=4)
ALERT_RETRY_BACKOFF_SECONDS = env.float("ALERT_RETRY_BACKOFF_SECONDS", default=30.0)
# Only tests change this (not read from the environment): it lets webhooks reach receivers on loopback; every other
# non-public address stays refused.
ALERT_WEBHOOK_ALLOW_LOOPBACK = False
# Webhook hosts trusted on a loopback or private address (a receiver on this machine or the office network), as
# written in the URL: "localhost,127.0.0.1,hooks.internal". Empty: only public addresses (monitoring/outbound.py).
# `make demo` sets it to this machine, which has no network to resolve anything else.
ALERT_WEBHOOK_ALLOWED_HOSTS = env.list("ALERT_WEBHOOK_ALLOWED_HOSTS", default=[])
