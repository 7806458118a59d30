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
# A session-signing key shorter than this can be guessed offline from one captured cookie.
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024


class ConfigError(RuntimeError):
    pass


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _number(env: dict, name: str, default, kind=float):
    """Read a numeric variable; a value that is not a number stops the start and names the variable."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        kind_name = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {kind_name}, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, not {raw!r}")
    return value


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
        if len(env["SECRET_KEY"].strip()) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
                              "with SEALED_ENV=production (e.g. python -c 'import secrets; "
                              "print(secrets.token_urlsafe(48))')")

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

    config = {
        "SEALED_ENV": sealed_env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": encryption_keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "SCHEDULER_ENABLED": _flag(env.get("SCHEDULER_ENABLED"), True),
        "SCHEDULER_INTERVAL_SECONDS": _number(env, "SCHEDULER_INTERVAL_SECONDS", 3),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "DEFAULT_PHONE_REGION": env.get("DEFAULT_PHONE_REGION") or "US",
        "SMS_TRANSPORT": env.get("SMS_TRANSPORT") or "outbox",
        "EMAIL_TRANSPORT": env.get("EMAIL_TRANSPORT") or "outbox",
        "VOICE_TRANSPORT": env.get("VOICE_TRANSPORT") or "outbox",
        "SMTP_HOST": env.get("SMTP_HOST") or "127.0.0.1",
        "SMTP_PORT": _number(env, "SMTP_PORT", 25, int),
        "SMTP_SECURITY": env.get("SMTP_SECURITY") or "none",
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_FROM": env.get("SMTP_FROM") or "sealed@localhost",
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_FROM": env.get("TWILIO_FROM") or None,
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE") or None,
        "DELIVERY_MAX_ATTEMPTS": _number(env, "DELIVERY_MAX_ATTEMPTS", 8, int),
        # Delivery engine (messaging/delivery/engine.py): how long a claim holds, how many rows a claim takes.
        "DELIVERY_LEASE_SECONDS": _number(env, "DELIVERY_LEASE_SECONDS", 120),
        "DELIVERY_BATCH_SIZE": _number(env, "DELIVERY_BATCH_SIZE", 200, int),
        # Pacing per transport, messages per second across all workers; empty or 0 = unlimited.
        "SMS_RATE_PER_SECOND": _number(env, "SMS_RATE_PER_SECOND", 0),
        "EMAIL_RATE_PER_SECOND": _number(env, "EMAIL_RATE_PER_SECOND", 0),
        "VOICE_RATE_PER_SECOND": _number(env, "VOICE_RATE_PER_SECOND", 0),
        "RENOTIFY_INTERVAL_SECONDS": _number(env, "RENOTIFY_INTERVAL_SECONDS", 60),
        "SMTP_TIMEOUT": _number(env, "SMTP_TIMEOUT", 20),
        "TWILIO_TIMEOUT": _number(env, "TWILIO_TIMEOUT", 20),
        # Flask-Limiter strings ("120/minute"); counted in Redis when REDIS_URL is set, else per process.
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT") or "120/minute",
        "VIEWER_POST_LIMIT": env.get("VIEWER_POST_LIMIT") or "10 per minute",
        # PIN and code checks per client address, across every link.
        "VIEWER_VERIFY_LIMIT": env.get("VIEWER_VERIFY_LIMIT") or "30 per hour",
        # Console sign-ins: per address and, separately, per account (a proxy makes all clients one address).
        "LOGIN_LIMIT": env.get("LOGIN_LIMIT") or "10 per minute",
        "LOGIN_ACCOUNT_LIMIT": env.get("LOGIN_ACCOUNT_LIMIT") or "20 per hour",
        # A console session ends this many hours after sign-in, however active (beside the idle timeout).
        "SESSION_MAX_HOURS": _number(env, "SESSION_MAX_HOURS", 12),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted; 0 = none.
        "PROXY_FIX": _number(env, "PROXY_FIX", 0, int),
        # Largest request body in bytes; larger ones are refused with 413 before anything is read.
        "MAX_CONTENT_LENGTH": _number(env, "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH, int),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "ARGON2_PARAMS": None,
    }
    _check_transports(config)
    _check_rate_limits(config)
    return config


def _check_transports(config: dict) -> None:
    """A typo in a transport setting should stop the start, not fail every send later."""
    from messaging.delivery.transports import ALLOWED, CONFIG_KEYS
    from messaging.delivery.transports.smtp import SECURITY_MODES

    chosen = set()
    for channel, name in CONFIG_KEYS.items():
        value = config[name] = config[name].strip().lower()
        if value not in ALLOWED[channel]:
            raise ConfigError(f"{name} must be one of {', '.join(ALLOWED[channel])}, not {value!r}")
        chosen.add(value)
    security = config["SMTP_SECURITY"] = config["SMTP_SECURITY"].strip().lower()
    if security not in SECURITY_MODES:
        raise ConfigError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
    if "twilio" in chosen:
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not config[name]]
        if missing:
            raise ConfigError("the twilio transport needs " + ", ".join(missing))


def _check_rate_limits(config: dict) -> None:
    from limits import parse_many

    for name in ("API_RATE_LIMIT", "VIEWER_POST_LIMIT", "VIEWER_VERIFY_LIMIT", "LOGIN_LIMIT", "LOGIN_ACCOUNT_LIMIT"):
        try:
            parse_many(config[name])
        except ValueError:
            raise ConfigError(f"{name} must be a rate such as '120/minute', not {config[name]!r}") from None
