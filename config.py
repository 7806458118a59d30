"""Configuration from the environment (and ``.env`` in development).

Development: missing secrets are generated once into ``instance/`` so a fresh clone runs.
Production (``SEALED_ENV=production``): a missing secret stops the start and says which.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ENCRYPTION_KEYS", "DATABASE_URL", "PUBLIC_BASE_URL")


class ConfigError(RuntimeError):
    pass


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _generated(instance: Path, name: str, make) -> str:
    """Read a development secret from instance/, creating it (mode 600) on first run."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def load_config(instance_path: str, env: dict | None = None) -> dict:
    """Build the Flask config dict from environment variables."""
    env = dict(os.environ if env is None else env)
    sealed_env = env.get("SEALED_ENV", "development").strip().lower()
    if sealed_env not in ("development", "production"):
        raise ConfigError(f"SEALED_ENV must be development or production, not {sealed_env!r}")
    production = sealed_env == "production"
    instance = Path(instance_path)

    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError("SEALED_ENV=production needs these environment variables: " + ", ".join(missing))

    secret_key = env.get("SECRET_KEY") or _generated(instance, "secret_key", lambda: secrets.token_urlsafe(48))
    keys = env.get("ENCRYPTION_KEYS") or _generated(instance, "encryption_keys",
                                                     lambda: Fernet.generate_key().decode())
    encryption_keys = [k.strip() for k in keys.split(",") if k.strip()]
    for key in encryption_keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError("ENCRYPTION_KEYS holds a value that is not a Fernet key "
                              "(32 url-safe base64-encoded bytes)") from None

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'sealed.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    return {
        "SEALED_ENV": sealed_env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": encryption_keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "SCHEDULER_ENABLED": _flag(env.get("SCHEDULER_ENABLED"), True),
        "SCHEDULER_INTERVAL_SECONDS": float(env.get("SCHEDULER_INTERVAL_SECONDS") or 3),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "DEFAULT_PHONE_REGION": env.get("DEFAULT_PHONE_REGION") or "US",
        "SMS_TRANSPORT": env.get("SMS_TRANSPORT") or "outbox",
        "EMAIL_TRANSPORT": env.get("EMAIL_TRANSPORT") or "outbox",
        "VOICE_TRANSPORT": env.get("VOICE_TRANSPORT") or "outbox",
        "SMTP_HOST": env.get("SMTP_HOST") or "127.0.0.1",
        "SMTP_PORT": int(env.get("SMTP_PORT") or 25),
        "SMTP_SECURITY": env.get("SMTP_SECURITY") or "none",
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_FROM": env.get("SMTP_FROM") or "sealed@localhost",
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_FROM": env.get("TWILIO_FROM") or None,
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE") or None,
        "DELIVERY_MAX_ATTEMPTS": int(env.get("DELIVERY_MAX_ATTEMPTS") or 8),
        # Delivery engine (messaging/delivery.py): how long a claim holds, how many rows a claim takes.
        "DELIVERY_LEASE_SECONDS": float(env.get("DELIVERY_LEASE_SECONDS") or 120),
        "DELIVERY_BATCH_SIZE": int(env.get("DELIVERY_BATCH_SIZE") or 200),
        # Pacing per transport, messages per second across all workers; empty or 0 = unlimited.
        "SMS_RATE_PER_SECOND": float(env.get("SMS_RATE_PER_SECOND") or 0),
        "EMAIL_RATE_PER_SECOND": float(env.get("EMAIL_RATE_PER_SECOND") or 0),
        "VOICE_RATE_PER_SECOND": float(env.get("VOICE_RATE_PER_SECOND") or 0),
        "RENOTIFY_INTERVAL_SECONDS": float(env.get("RENOTIFY_INTERVAL_SECONDS") or 60),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT") or 20),
        "TWILIO_TIMEOUT": float(env.get("TWILIO_TIMEOUT") or 20),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "ARGON2_PARAMS": None,
    }
