"""One test app's config, its fresh schema and its teardown."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from messaging.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def sqlalchemy_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named, as SQLAlchemy needs it for PostgreSQL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def postgres_available() -> str | None:
    """The reason PostgreSQL tests cannot run, or None when they can."""
    if not TEST_DATABASE_URL:
        return "TEST_DATABASE_URL is not set"
    try:
        engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"PostgreSQL at TEST_DATABASE_URL does not answer: {exc.__class__.__name__}"
    return None


def app_config(tmp_path: Path, **overrides) -> dict:
    """A complete config for one test app. Every secret is fresh; nothing is read from instance/."""
    url = sqlalchemy_url(TEST_DATABASE_URL) if TEST_DATABASE_URL else f"sqlite:///{tmp_path / 'test.db'}"
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + os.urandom(8).hex(),
        "ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "ARGON2_PARAMS": FAST_ARGON2,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return config


def reset_schema(app) -> None:
    """Drop and recreate every table (and forget any migration stamp) in the app's database."""
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()


def dispose(app) -> None:
    """Close the app's session and connections, so the next test's schema reset is not kept waiting."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
