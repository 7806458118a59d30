"""Configuration from the environment (and ``.env`` in development): one table, ``CONFIG_SPECS``.

Every configuration key the app reads has its default here and nowhere else, so code elsewhere reads
``config["KEY"]``. Development: missing secrets are generated once into ``instance/`` so a fresh clone
runs. Production (``SEALED_ENV=production``): a missing secret stops the start and says which.
A test's config passed to ``load_config`` wins over the environment and never writes into ``instance/``.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

# A session-signing key shorter than this can be guessed offline from one captured cookie.
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
SEALED_ENVS = ("development", "production")


class ConfigError(RuntimeError):
    """A configuration value that cannot work; the message names the variable."""


# A reader turns a variable's text (never empty) into its value: (variable name, text, default) -> value.
Reader = Callable[[str, str, object], object]


def _text(name: str, raw: str, default):
    return raw


def _flag(name: str, raw: str, default) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _number(kind=float) -> Reader:
    """A reader of a non-negative number; a value that is not one stops the start and names the variable."""
    def read(name: str, raw: str, default):
        if raw.strip() == "":
            return default
        try:
            value = kind(raw.strip())
        except ValueError:
            kind_name = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{name} must be {kind_name}, not {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{name} must not be negative, not {raw!r}")
        return value
    return read


def _base_url(name: str, raw: str, default) -> str:
    return raw.rstrip("/")


def _database_url(name: str, raw: str, default) -> str:
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
    return raw


def _fernet_keys(name: str, raw: str, default) -> list[str]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(f"{name} holds a value that is not a Fernet key "
                              "(32 url-safe base64-encoded bytes)") from None
    return keys


def _one_of(name: str, value: str, allowed) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _transport(channel: str) -> Reader:
    """A typo in a transport setting should stop the start, not fail every send later."""
    def read(name: str, raw: str, default) -> str:
        from messaging.delivery.transports import ALLOWED

        return _one_of(name, raw, ALLOWED[channel])
    return read


def _smtp_security(name: str, raw: str, default) -> str:
    from messaging.delivery.transports.smtp import SECURITY_MODES

    return _one_of(name, raw, SECURITY_MODES)


def _rate(name: str, raw: str, default) -> str:
    """A Flask-Limiter rate string ("120/minute", "10 per minute; 100 per hour")."""
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '120/minute', not {raw!r}") from None
    return raw


def _engine_options(config: dict, instance: Path) -> dict:
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several threads (web + scheduler) share the file: wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _in_production(config: dict, instance: Path) -> bool:
    return config["SEALED_ENV"] == "production"


@dataclass(frozen=True)
class ConfigSpec:
    """One configuration key: the variable it is read from, how, and its value when unset."""
    key: str
    default: object = None
    # Parses the variable's text; None: not read from the environment (fixed, derived or special).
    read: Reader | None = _text
    env: str = ""  # the variable's name, when it is not the key
    required_in_production: bool = False
    # A development secret, generated once into instance/<secret_file> when the variable is unset.
    secret_file: str = ""
    generate: Callable[[], str] | None = None
    # Computes the value from the finished config (a test's config included) when it is still None.
    derive: Callable[[dict, Path], object] | None = None

    @property
    def variable(self) -> str:
        """The environment variable this key is read from."""
        return self.env or self.key


CONFIG_SPECS: dict[str, ConfigSpec] = {s.key: s for s in [
    # Read first, by load_config itself: it decides what the other rows may do.
    ConfigSpec("SEALED_ENV", "development", read=None),
    ConfigSpec("SECRET_KEY", read=_text, required_in_production=True, secret_file="secret_key",
               generate=lambda: secrets.token_urlsafe(48)),
    ConfigSpec("ENCRYPTION_KEYS", read=_fernet_keys, required_in_production=True, secret_file="encryption_keys",
               generate=lambda: Fernet.generate_key().decode()),
    ConfigSpec("SQLALCHEMY_DATABASE_URI", env="DATABASE_URL", read=_database_url, required_in_production=True,
               derive=lambda config, instance: f"sqlite:///{instance / 'sealed.db'}"),
    ConfigSpec("PUBLIC_BASE_URL", "http://127.0.0.1:5000", _base_url, required_in_production=True),
    ConfigSpec("SCHEDULER_ENABLED", True, _flag),
    ConfigSpec("SCHEDULER_INTERVAL_SECONDS", 3, _number()),
    ConfigSpec("RENOTIFY_INTERVAL_SECONDS", 60, _number()),
    ConfigSpec("CAMPAIGN_INTERVAL_SECONDS", 60, _number()),
    ConfigSpec("FANOUT_BATCH_SIZE", 500, _number(int)),
    ConfigSpec("FANOUT_LEASE_SECONDS", 120, _number()),
    ConfigSpec("REDIS_URL", None),
    ConfigSpec("DEFAULT_PHONE_REGION", "US"),
    ConfigSpec("SMS_TRANSPORT", "outbox", _transport("sms")),
    ConfigSpec("EMAIL_TRANSPORT", "outbox", _transport("email")),
    ConfigSpec("VOICE_TRANSPORT", "outbox", _transport("voice")),
    ConfigSpec("SMTP_HOST", "127.0.0.1"),
    ConfigSpec("SMTP_PORT", 25, _number(int)),
    ConfigSpec("SMTP_SECURITY", "none", _smtp_security),
    ConfigSpec("SMTP_USERNAME", None),
    ConfigSpec("SMTP_PASSWORD", None),
    ConfigSpec("SMTP_FROM", "sealed@localhost"),
    ConfigSpec("SMTP_TIMEOUT", 20, _number()),
    ConfigSpec("TWILIO_ACCOUNT_SID", None),
    ConfigSpec("TWILIO_AUTH_TOKEN", None),
    ConfigSpec("TWILIO_FROM", None),
    ConfigSpec("TWILIO_API_BASE", None),
    ConfigSpec("TWILIO_TIMEOUT", 20, _number()),
    # Delivery engine: attempts before a delivery fails, how long a claim holds, how many rows a claim takes.
    ConfigSpec("DELIVERY_MAX_ATTEMPTS", 8, _number(int)),
    ConfigSpec("DELIVERY_LEASE_SECONDS", 120, _number()),
    ConfigSpec("DELIVERY_BATCH_SIZE", 200, _number(int)),
    # Contact imports: how long a worker's claim on an import holds (renewed every batch), and the
    # largest file the console accepts (the CLI reads any size).
    ConfigSpec("IMPORT_LEASE_SECONDS", 120, _number()),
    ConfigSpec("IMPORT_MAX_UPLOAD_BYTES", 64 * 1024 * 1024, _number(int)),
    # Pacing per transport, messages per second across all workers; empty or 0 = unlimited.
    ConfigSpec("SMS_RATE_PER_SECOND", 0, _number()),
    ConfigSpec("EMAIL_RATE_PER_SECOND", 0, _number()),
    ConfigSpec("VOICE_RATE_PER_SECOND", 0, _number()),
    # Flask-Limiter strings; counted in Redis when REDIS_URL is set, else per process.
    ConfigSpec("API_RATE_LIMIT", "120/minute", _rate),
    ConfigSpec("VIEWER_POST_LIMIT", "10 per minute", _rate),
    # PIN and code checks per client address, across every link.
    ConfigSpec("VIEWER_VERIFY_LIMIT", "30 per hour", _rate),
    # Console sign-ins: per address and, separately, per account (a proxy makes all clients one address).
    ConfigSpec("LOGIN_LIMIT", "10 per minute", _rate),
    ConfigSpec("LOGIN_ACCOUNT_LIMIT", "20 per hour", _rate),
    # A console session ends this many hours after sign-in, however active (beside the idle timeout).
    ConfigSpec("SESSION_MAX_HOURS", 12, _number()),
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted; 0 = none.
    ConfigSpec("PROXY_FIX", 0, _number(int)),
    # Largest request body in bytes; larger ones are refused with 413 before anything is read.
    ConfigSpec("MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH, _number(int)),
    # Webhook endpoints on loopback, private and link-local addresses (and plain http to them): tests only.
    ConfigSpec("WEBHOOK_ALLOW_PRIVATE", False, _flag),
    ConfigSpec("WEBHOOK_TIMEOUT", 10, _number()),
    ConfigSpec("WEBHOOK_MAX_ATTEMPTS", 10, _number(int)),
    ConfigSpec("WEBHOOK_LEASE_SECONDS", 60, _number()),
    # Fixed: not read from the environment.
    ConfigSpec("SESSION_COOKIE_HTTPONLY", True, read=None),
    ConfigSpec("SESSION_COOKIE_SAMESITE", "Lax", read=None),
    ConfigSpec("WTF_CSRF_TIME_LIMIT", None, read=None),
    ConfigSpec("ARGON2_PARAMS", None, read=None),  # None: the library's defaults; tests pass cheaper ones
    ConfigSpec("RATELIMIT_HEADERS_ENABLED", True, read=None),
    # Derived from the rest once it is complete.
    ConfigSpec("SESSION_COOKIE_SECURE", read=None, derive=_in_production),
    ConfigSpec("REMEMBER_COOKIE_SECURE", read=None, derive=_in_production),
    # Counters live in Redis when there is one, so every web worker draws on the same budget.
    ConfigSpec("RATELIMIT_STORAGE_URI", read=None, derive=lambda config, instance: config["REDIS_URL"] or "memory://"),
    ConfigSpec("SQLALCHEMY_ENGINE_OPTIONS", read=None, derive=_engine_options),
]}

REQUIRED_IN_PRODUCTION = tuple(s.variable for s in CONFIG_SPECS.values() if s.required_in_production)


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


def _sealed_env(env: Mapping[str, str]) -> str:
    """``development`` or ``production``; production first checks that every required secret is there."""
    sealed_env = env.get("SEALED_ENV", CONFIG_SPECS["SEALED_ENV"].default).strip().lower()
    if sealed_env not in SEALED_ENVS:
        raise ConfigError(f"SEALED_ENV must be development or production, not {sealed_env!r}")
    if sealed_env == "production":
        missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
        if missing:
            raise ConfigError("SEALED_ENV=production needs these environment variables: " + ", ".join(missing))
        if len(env["SECRET_KEY"].strip()) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
                              "with SEALED_ENV=production (e.g. python -c 'import secrets; "
                              "print(secrets.token_urlsafe(48))')")
    return sealed_env


def _check_twilio(config: dict) -> None:
    """Choosing the Twilio transport without its credentials would fail every send later."""
    from messaging.delivery.transports import CONFIG_KEYS

    if "twilio" in {config[name] for name in CONFIG_KEYS.values()}:
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not config[name]]
        if missing:
            raise ConfigError("the twilio transport needs " + ", ".join(missing))


def load_config(instance_path: str, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, object] | None = None) -> dict:
    """Build the Flask config dict: every key of ``CONFIG_SPECS``, from the environment or its default.

    ``overrides`` (a test's config) win over the environment. A key they give is not generated, and
    with ``TESTING`` set a secret they leave out is made fresh for this app instead of kept in
    ``instance/``, so a test never reads or writes there.
    """
    env = dict(os.environ if env is None else env)
    overrides = dict(overrides or {})
    instance = Path(instance_path)
    config: dict = {"SEALED_ENV": _sealed_env(env)}
    for spec in CONFIG_SPECS.values():
        if spec.read is None:
            config.setdefault(spec.key, spec.default)
            continue
        raw = env.get(spec.variable)
        if raw in (None, "") and spec.generate is not None and spec.key not in overrides:
            raw = spec.generate() if overrides.get("TESTING") else _generated(instance, spec.secret_file,
                                                                              spec.generate)
        config[spec.key] = spec.default if raw in (None, "") else spec.read(spec.variable, raw, spec.default)
    _check_twilio(config)
    config.update(overrides)
    for spec in CONFIG_SPECS.values():
        if spec.derive is not None and config[spec.key] in (None, ""):
            config[spec.key] = spec.derive(config, instance)
    return config
