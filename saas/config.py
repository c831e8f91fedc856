"""Configuration: the only module that reads the environment.

Every setting is optional; the defaults are the embedded ones (SQLite file, local
files, jobs in process, mail kept in the outbox). Each URL is checked here, so a
wrong one stops the app at start with one clear sentence instead of a traceback later.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "STORAGE_URL",
    "MAIL_URL",
    "MAIL_FROM",
    "BASE_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_DISCOVERY_URL",
    "TENANTS_DIR",
    "PROXY_HOPS",
    "MAIL_RETRY_DELAYS",
    "MAIL_RETRY_MAX_DELAY",
    "MAIL_GIVE_UP_AFTER",
    "UPLOAD_FILE_MAX_BYTES",
    "UPLOAD_BATCH_MAX_FILES",
    "UPLOAD_BATCH_MAX_BYTES",
    "ACCESS_LINK_DAYS",
)
GOOGLE_DISCOVERY = "https://accounts.google.com/.well-known/openid-configuration"
UPLOAD_MAX_BYTES = 64 * 1024 * 1024


class ConfigError(Exception):
    """A setting that cannot work; the message names the variable and the problem."""


def from_environment(environ=None) -> dict:
    """The raw settings found in the environment (only the known keys)."""
    environ = os.environ if environ is None else environ
    return {key: environ[key] for key in ENV_KEYS if environ.get(key)}


def build(raw: dict, instance_path: str) -> dict:
    """Turn raw settings (environment merged with overrides) into Flask config."""
    raw = {k: v for k, v in raw.items() if v is not None}
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    base_url = _base_url(
        raw.get("BASE_URL") or _served_base_url(instance) or "http://127.0.0.1:5000"
    )
    secure = base_url.startswith("https://")
    cfg = {
        "SECRET_KEY": raw.get("SECRET_KEY") or _instance_secret(instance),
        "SQLALCHEMY_DATABASE_URI": database_uri(
            raw.get("DATABASE_URL") or f"sqlite:///{instance / 'saas.db'}"
        ),
        "REDIS_URL": _redis_url(raw.get("REDIS_URL")),
        "STORAGE": storage_settings(raw.get("STORAGE_URL") or f"file://{instance / 'storage'}"),
        "MAIL": mail_settings(raw.get("MAIL_URL") or "outbox://"),
        "MAIL_FROM": raw.get("MAIL_FROM", "no-reply@localhost"),
        "BASE_URL": base_url,
        "GOOGLE_CLIENT_ID": raw.get("GOOGLE_CLIENT_ID"),
        "GOOGLE_CLIENT_SECRET": raw.get("GOOGLE_CLIENT_SECRET"),
        "GOOGLE_DISCOVERY_URL": raw.get("GOOGLE_DISCOVERY_URL", GOOGLE_DISCOVERY),
        "TENANTS_DIR": str(Path(raw.get("TENANTS_DIR", PROJECT_ROOT / "tenants")).resolve()),
        "PROXY_HOPS": _int("PROXY_HOPS", raw.get("PROXY_HOPS", 0)),
        # One invoice file (XML, .p7m) or PDF, in the console and the API; the pages and
        # messages that state the limit take it from here.
        "UPLOAD_FILE_MAX_BYTES": _upload_file_max_bytes(raw.get("UPLOAD_FILE_MAX_BYTES")),
        # The API's batch upload: invoice files (and PDFs) one request may carry, also
        # inside its zip, and the bytes of the whole request (at most the one request
        # limit below). Everything is published in one transaction: these bound it.
        "UPLOAD_BATCH_MAX_FILES": _in_range(
            "UPLOAD_BATCH_MAX_FILES", raw.get("UPLOAD_BATCH_MAX_FILES", 500), 1, 1000
        ),
        "UPLOAD_BATCH_MAX_BYTES": _in_range(
            "UPLOAD_BATCH_MAX_BYTES",
            raw.get("UPLOAD_BATCH_MAX_BYTES", UPLOAD_MAX_BYTES),
            1024 * 1024,
            UPLOAD_MAX_BYTES,
        ),
        # How long a new recipient's access (or set-password) link, or a new staff user's
        # invitation, works.
        "ACCESS_LINK_DAYS": _in_range("ACCESS_LINK_DAYS", raw.get("ACCESS_LINK_DAYS", 7), 1, 365),
        # Fixed policy, not environment.
        # The one size limit of a request, so of a bulk upload (a zip is at most this):
        # larger ones get 413. The bulk upload page shows this value.
        "MAX_CONTENT_LENGTH": UPLOAD_MAX_BYTES,
        # What the zips of one bulk upload may expand to, in all, and how much larger than
        # its compressed size one member may be (XML invoices compress about 10 to 1; a
        # zip bomb, 1000 to 1). Members are read one at a time: memory stays flat.
        "UPLOAD_MAX_EXPANDED_BYTES": 1024 * 1024 * 1024,
        "UPLOAD_MAX_RATIO": 200,
        # Wrong API keys from one address in 15 minutes before it gets 429s.
        "API_KEY_FAILURES": 20,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "BABEL_DEFAULT_LOCALE": "en",
        "LOCALES": ("es", "it", "en"),
        "MAIL_RETRY_DELAYS": _delays(raw.get("MAIL_RETRY_DELAYS", "30,120")),
        # After the first steps each wait doubles, up to this; deliveries go on until
        # MAIL_GIVE_UP_AFTER has passed since the message was written.
        "MAIL_RETRY_MAX_DELAY": _duration(
            "MAIL_RETRY_MAX_DELAY", raw.get("MAIL_RETRY_MAX_DELAY", "1h")
        ),
        "MAIL_GIVE_UP_AFTER": _duration("MAIL_GIVE_UP_AFTER", raw.get("MAIL_GIVE_UP_AFTER", "48h")),
        # Messages one delivery job sends over one SMTP connection before it reconnects.
        "MAIL_BATCH_SIZE": 100,
        # A support request's attachment (a PDF or an image of the problem).
        "SUPPORT_ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
        "QUEUE_PREFIX": "",
        "WTF_CSRF_TIME_LIMIT": None,
    }
    return cfg


def database_uri(url: str) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL (psycopg 3), or a ConfigError."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"DATABASE_URL {_redact(url)!r} is not a database URL "
            "(expected sqlite:///path or postgresql+psycopg://user:pass@host/db)"
        ) from None
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 is the one driver installed, whatever the URL asked for.
        parsed = parsed.set(drivername="postgresql+psycopg")
        if not parsed.database:
            raise ConfigError("DATABASE_URL names no database (postgresql+psycopg://host/DB)")
    elif parsed.get_backend_name() != "sqlite":
        raise ConfigError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}; "
            "only sqlite and postgresql are supported"
        )
    return parsed.render_as_string(hide_password=False)


def storage_settings(url: str) -> dict:
    """Parse STORAGE_URL: file:///path or s3://KEY:SECRET@host:port/bucket?secure=false."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigError("STORAGE_URL file:// needs a folder, as file:///var/lib/saas")
        return {"backend": "file", "root": path}
    if parts.scheme == "s3":
        bucket = parts.path.strip("/")
        if not parts.hostname or not bucket or "/" in bucket:
            raise ConfigError(
                f"STORAGE_URL {_redact(url)!r} needs a host and one bucket, "
                "as s3://KEY:SECRET@minio:9000/invoices"
            )
        query, port = _query_and_port("STORAGE_URL", url)
        return {
            "backend": "s3",
            "endpoint": f"{parts.hostname}:{port}" if port else parts.hostname,
            "access_key": unquote(parts.username or ""),
            "secret_key": unquote(parts.password or ""),
            "bucket": bucket,
            "secure": _flag("STORAGE_URL secure", query.get("secure", "true")),
            "region": query.get("region"),
        }
    raise ConfigError(
        f"STORAGE_URL scheme {parts.scheme!r} is not supported (use file:// or s3://)"
    )


def mail_settings(url: str) -> dict:
    """Parse MAIL_URL: outbox:// or smtp[s]://user:pass@host:port?starttls=true."""
    parts = urlsplit(url)
    if parts.scheme == "outbox":
        return {"backend": "outbox"}
    if parts.scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise ConfigError(f"MAIL_URL {_redact(url)!r} names no host")
        query, port = _query_and_port("MAIL_URL", url)
        return {
            "backend": "smtp",
            "host": parts.hostname,
            "port": port or (465 if parts.scheme == "smtps" else 25),
            "ssl": parts.scheme == "smtps",
            "starttls": _flag("MAIL_URL starttls", query.get("starttls", "false")),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "timeout": _number("MAIL_URL timeout", query.get("timeout", "10")),
        }
    raise ConfigError(
        f"MAIL_URL scheme {parts.scheme!r} is not supported (use outbox:// or smtp://)"
    )


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 0 < number <= 600:
        raise ConfigError(f"{name} must be between 0 and 600 seconds, not {value!r}")
    return number


def _query_and_port(name: str, url: str) -> tuple[dict, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name} {_redact(url)!r} has a port that is not a number") from None
    return {k: v[-1] for k, v in parse_qs(parts.query).items()}, port


def _redis_url(url: str | None) -> str | None:
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL {_redact(url)!r} is not a redis:// URL")
    return url


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"BASE_URL {url!r} must be an absolute http(s) URL")
    return url.rstrip("/")


def _flag(name: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} must be true or false")


def _int(name: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r} is not a whole number") from None


def _in_range(name: str, value, low: int, high: int) -> int:
    number = _int(name, value)
    if not low <= number <= high:
        raise ConfigError(f"{name} {value!r} must be between {low} and {high}")
    return number


def _upload_file_max_bytes(value) -> int:
    """Bytes one uploaded file may have: 10 MiB, the e-invoice reader's own limit, by
    default; a lower value may be set, not a higher one (the reader would refuse it)."""
    from saas.einvoice.xml import MAX_BYTES

    if value is None:
        return MAX_BYTES
    return _in_range("UPLOAD_FILE_MAX_BYTES", value, 1024, MAX_BYTES)


def _delays(value) -> tuple[float, ...]:
    """Seconds to wait before each mail retry, as "30,120"."""
    if isinstance(value, tuple | list):
        return tuple(float(v) for v in value)
    try:
        delays = tuple(float(v) for v in str(value).split(","))
    except ValueError:
        raise ConfigError(f"MAIL_RETRY_DELAYS {value!r} must be seconds such as 30,120") from None
    if not delays or any(d < 0 for d in delays):
        raise ConfigError(f"MAIL_RETRY_DELAYS {value!r} must be seconds such as 30,120")
    return delays


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(name: str, value) -> float:
    """Seconds from "90", "90s", "30m", "48h" or "2d" (or a number, from tests)."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        unit = _UNITS.get(text[-1:])
        try:
            seconds = float(text[:-1] if unit else text) * (unit or 1)
        except ValueError:
            raise ConfigError(
                f"{name} {value!r} must be a duration such as 90s, 30m or 48h"
            ) from None
    if seconds <= 0:
        raise ConfigError(f"{name} {value!r} must be a duration such as 90s, 30m or 48h")
    return seconds


def _served_base_url(instance: Path) -> str | None:
    """The BASE_URL `make run` serves, which it keeps in instance/base_url: commands run
    in another shell of this checkout then build their links for the same server."""
    path = instance / "base_url"
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _instance_secret(instance: Path) -> str:
    """A SECRET_KEY generated once and kept in instance/, so restarts keep sessions."""
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def configured_login_methods(config) -> frozenset[str]:
    """The sign-in methods this server can serve, from its (built) config: a password
    and a magic link always (mail always goes somewhere, the outbox at least), Google
    only with both its client id and secret. A tenant may list a method this server
    cannot serve; its sign-in page then leaves that method out."""
    methods = {"password", "magic_link"}
    if config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"):
        methods.add("google")
    return frozenset(methods)
