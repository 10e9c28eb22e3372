"""Configuration, read from the environment (twelve-factor)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("SECRET_KEY must be set in production (COORD_ENV=production).")
    # Development: generate once and keep it in instance/ so sessions survive restarts.
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load(instance_path: Path) -> dict:
    """Build the config mapping from the environment."""
    production = os.environ.get("COORD_ENV", "development") == "production"
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'coord.db'}"
    redis_url = os.environ.get("REDIS_URL")
    return {
        "COORD_ENV": "production" if production else "development",
        "SECRET_KEY": _secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TIMEZONE": os.environ.get("COORD_TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("COORD_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        # Sessions: cookies only over HTTPS in production; never readable by scripts.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("COORD_SESSION_HOURS", "8")) * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(os.environ.get("COORD_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        # The two lists: limits on an imported sheet.
        "LISTS_IMPORT_MAX_BYTES": int(os.environ.get("COORD_LISTS_IMPORT_MAX_MB", "5")) * 1024 * 1024,
        "LISTS_IMPORT_MAX_ROWS": int(os.environ.get("COORD_LISTS_IMPORT_MAX_ROWS", "2000")),
        # Login rate limit (Flask-Limiter); shared storage in production so workers agree.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"),
        # Mail (used by the outbox worker).
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "coord@spb.example.cn"),
        "MAIL_RETRY_BASE_SECONDS": float(os.environ.get("MAIL_RETRY_BASE_SECONDS", "60")),  # back-off 1, 2, 4 … ×
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "8")),
        # Task queue: Redis when REDIS_URL is set, else SQLite file in instance/.
        "REDIS_URL": redis_url,
        "HUEY_SQLITE_PATH": os.environ.get("HUEY_SQLITE_PATH", str(instance_path / "huey.db")),
        "DEMO_PASSWORD": os.environ.get("COORD_DEMO_PASSWORD", "coord-demo-2026"),
        # The worklist and notifications (coord.worklist, coord.notifications).
        "WORKLIST_CACHE_SECONDS": float(os.environ.get("COORD_WORKLIST_CACHE_SECONDS", "60")),
        "WORKLIST_POLL_SECONDS": int(os.environ.get("COORD_WORKLIST_POLL_SECONDS", "30")),
        "NOTIFY_DIGEST_TIME": os.environ.get("COORD_DIGEST_TIME", "08:30"),
        # flask-smorest / OpenAPI
        "API_TITLE": "coord API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
