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


def _audit_key(instance_path: Path, production: bool) -> str:
    """The key of the audit chain's HMACs: held outside the database, so whoever can write the
    database cannot recompute the chain. Production requires it; development keeps one in instance/."""
    key = os.environ.get("COORD_AUDIT_KEY")
    if key:
        if len(key) < 16:
            raise RuntimeError("COORD_AUDIT_KEY must be at least 16 characters.")
        return key
    if production:
        raise RuntimeError("COORD_AUDIT_KEY must be set in production (COORD_ENV=production).")
    path = instance_path / "audit_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _audit_hash() -> str:
    value = os.environ.get("COORD_AUDIT_HASH", "sha256").strip().lower()
    if value not in {"sha256", "sm3"}:
        raise RuntimeError("COORD_AUDIT_HASH must be sha256 or sm3.")
    return value


def _retention_days() -> int:
    days = int(os.environ.get("COORD_LOG_RETENTION_DAYS", "180"))
    if days < 180:  # 网络安全法 art. 21: network logs are kept at least six months
        raise RuntimeError("COORD_LOG_RETENTION_DAYS cannot be below 180.")
    return days


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
        # Absolute session limit (the cookie's lifetime and the server-side session's end).
        "PERMANENT_SESSION_LIFETIME": int(float(os.environ.get("COORD_SESSION_HOURS", "8")) * 3600),
        # The cookie keeps the end it got at login (the absolute limit): not re-signed and re-sent on every
        # response. The idle timeout is the server-side session's (user_session.last_seen_at).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(os.environ.get("COORD_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        # The two lists: limits on an imported sheet.
        "LISTS_IMPORT_MAX_BYTES": int(os.environ.get("COORD_LISTS_IMPORT_MAX_MB", "5")) * 1024 * 1024,
        "LISTS_IMPORT_MAX_ROWS": int(os.environ.get("COORD_LISTS_IMPORT_MAX_ROWS", "2000")),
        # Login rate limit (Flask-Limiter); shared storage in production so workers agree.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("COORD_LOGIN_RATE_LIMIT", "10 per minute"),
        # --- Security (issue 11): audit chain, accounts (GB/T 22239-2019 level 3), sessions ---
        "AUDIT_KEY": _audit_key(instance_path, production),
        "AUDIT_HASH": _audit_hash(),  # sha256 | sm3 (GB/T 32905), both as HMAC
        "AUDIT_CHECKPOINT_FILE": os.environ.get("COORD_AUDIT_CHECKPOINT_FILE",
                                                str(instance_path / "audit-checkpoints.jsonl")),
        "AUDIT_CHECKPOINT_LOG": _bool("COORD_AUDIT_CHECKPOINT_LOG"),
        "SESSION_IDLE_SECONDS": int(float(os.environ.get("COORD_SESSION_IDLE_MINUTES", "30")) * 60),
        "LOCKOUT_THRESHOLD": int(os.environ.get("COORD_LOCKOUT_THRESHOLD", "5")),
        "LOCKOUT_SECONDS": int(float(os.environ.get("COORD_LOCKOUT_MINUTES", "15")) * 60),
        "SEPARATION_OF_DUTIES": _bool("COORD_SEPARATION_OF_DUTIES"),  # 三员分立
        "LOG_RETENTION_DAYS": _retention_days(),
        # Proxies in front that set X-Forwarded-For/-Proto (the login log records the client's address).
        "PROXY_COUNT": int(os.environ.get("COORD_PROXY_COUNT", "0")),
        # Mail (used by the outbox worker). MAIL_TRANSPORT: "smtp", or "catchall" (kept in the outbox and
        # shown on the development mail page, never sent). Unset: catchall in development without a
        # MAIL_SERVER, else smtp (see coord.notify.services.transport).
        "MAIL_TRANSPORT": os.environ.get("MAIL_TRANSPORT") or None,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "coord@spb.example.cn"),
        "MAIL_RETRY_BASE_SECONDS": float(os.environ.get("MAIL_RETRY_BASE_SECONDS", "60")),  # back-off 1, 2, 4 … ×
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", "8")),
        # Inbound mail (coord.mailin): the ORGANIZER of invitations, where calendar answers come back.
        "REPLY_ADDRESS": os.environ.get("COORD_REPLY_ADDRESS", ""),  # "" = MAIL_DEFAULT_SENDER
        "COORD_BASE_URL": os.environ.get("COORD_BASE_URL", "http://127.0.0.1:5000"),
        "IMAP_HOST": os.environ.get("COORD_IMAP_HOST", ""),  # "" = no polling
        "IMAP_PORT": int(os.environ.get("COORD_IMAP_PORT", "993")),
        "IMAP_SECURITY": os.environ.get("COORD_IMAP_SECURITY", "ssl"),  # ssl | starttls | none (loopback only)
        "IMAP_USER": os.environ.get("COORD_IMAP_USER", ""),
        "IMAP_PASSWORD": os.environ.get("COORD_IMAP_PASSWORD", ""),
        "IMAP_FOLDER": os.environ.get("COORD_IMAP_FOLDER", "INBOX"),
        "IMAP_PROCESSED_FOLDER": os.environ.get("COORD_IMAP_PROCESSED_FOLDER", "coord-processed"),
        "IMAP_QUARANTINE_FOLDER": os.environ.get("COORD_IMAP_QUARANTINE_FOLDER", "coord-quarantine"),
        "IMAP_POLL_MINUTES": int(os.environ.get("COORD_IMAP_POLL_MINUTES", "1")),
        "MAILIN_MAX_BYTES": int(os.environ.get("COORD_MAILIN_MAX_MB", "25")) * 1024 * 1024,
        # When set, a message counts only if this server's Authentication-Results says dmarc, dkim or spf pass.
        "MAILIN_AUTHSERV_ID": os.environ.get("COORD_MAILIN_AUTHSERV_ID", ""),
        # Task queue: Redis when REDIS_URL is set, else SQLite file in instance/.
        "REDIS_URL": redis_url,
        "HUEY_SQLITE_PATH": os.environ.get("HUEY_SQLITE_PATH", str(instance_path / "huey.db")),
        "DEMO_PASSWORD": os.environ.get("COORD_DEMO_PASSWORD", "coord-demo-2026"),
        # The worklist and notifications (coord.worklist, coord.notifications).
        "WORKLIST_CACHE_SECONDS": float(os.environ.get("COORD_WORKLIST_CACHE_SECONDS", "60")),
        "PAGE_CACHE_SECONDS": float(os.environ.get("COORD_PAGE_CACHE_SECONDS", "30")),
        "PAGE_CACHE_BYTES": int(os.environ.get("COORD_PAGE_CACHE_MB", "32")) * 1024 * 1024,
        "WORKLIST_POLL_SECONDS": int(os.environ.get("COORD_WORKLIST_POLL_SECONDS", "30")),
        "NOTIFY_DIGEST_TIME": os.environ.get("COORD_DIGEST_TIME", "08:30"),
        # flask-smorest / OpenAPI
        "API_TITLE": "coord API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
