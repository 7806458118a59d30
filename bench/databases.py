"""The scratch PostgreSQL database the benchmarks may use, shared by every benchmark."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text


def postgres_url() -> tuple[str | None, str | None]:
    """``BENCH_DATABASE_URL`` (else ``TEST_DATABASE_URL``) when it answers, or None and why it is skipped."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None, "neither BENCH_DATABASE_URL nor TEST_DATABASE_URL is set"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - report and skip
        return None, f"{url.rsplit('@', 1)[-1]} does not answer ({exc.__class__.__name__})"
    return url, None


def postgres_or_say_why() -> str | None:
    """The URL, or None after printing why PostgreSQL is skipped."""
    url, reason = postgres_url()
    if url is None:
        print(f"PostgreSQL skipped: {reason}.")
    return url


def fresh_app(url: str, **config):
    """An app on ``url`` with throwaway keys, no scheduler, and every table dropped and created anew."""
    from cryptography.fernet import Fernet

    from app import create_app
    from messaging.db import db

    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ENCRYPTION_KEYS": [Fernet.generate_key().decode()], "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False, "PUBLIC_BASE_URL": "https://sealed.example", **config,
    })
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
    return app
