"""Shared fixtures: a fresh app and database per test, the CLI runner, a live server, Chromium.

Set ``TEST_DATABASE_URL`` to run against PostgreSQL; otherwise each test gets its own SQLite file.
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from messaging.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def postgres_available() -> str | None:
    """The reason PostgreSQL tests cannot run, or None when they can."""
    if not TEST_DATABASE_URL:
        return "TEST_DATABASE_URL is not set"
    try:
        engine = create_engine(_pg_url(TEST_DATABASE_URL))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"PostgreSQL at TEST_DATABASE_URL does not answer: {exc.__class__.__name__}"
    return None


def test_config(tmp_path: Path, **overrides) -> dict:
    """A complete config for one test app. Every secret is fresh; nothing is read from instance/."""
    url = _pg_url(TEST_DATABASE_URL) if TEST_DATABASE_URL else f"sqlite:///{tmp_path / 'test.db'}"
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
    with app.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()


def _drop_alembic_version() -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """Build an app with config overrides and a fresh schema (seeded unless seed=False)."""
    monkeypatch.setenv("SEALED_ENV", "development")
    apps = []

    def build(seed: bool = True, **overrides):
        app = create_app(test_config(tmp_path, **overrides))
        reset_schema(app)
        if seed:
            from seeds import seed as run_seed

            with app.app_context():
                run_seed()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def csrf_app(make_app):
    """An app with CSRF protection on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def fake():
    """A local HTTP server that answers like Twilio's Messages and Calls endpoints."""
    from tests.fake_twilio import FakeTwilio

    with FakeTwilio() as server:
        yield server


@pytest.fixture
def twilio_app(make_app, fake):
    """An app whose SMS and voice go through the Twilio SDK to ``fake``; webhooks signed for the public URL."""
    from tests.fake_twilio import PUBLIC_BASE_URL

    return make_app(PUBLIC_BASE_URL=PUBLIC_BASE_URL, **fake.config())


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app.config["PUBLIC_BASE_URL"] = self.url
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(make_app):
    """The app served on 127.0.0.1 with CSRF on, as a browser would meet it."""
    server = LiveServer(make_app(WTF_CSRF_ENABLED=True)).start()
    yield server
    server.stop()


@pytest.fixture
def make_live_server(make_app):
    """Serve an app built with config overrides on 127.0.0.1 (threaded); stopped after the test."""
    servers = []

    def build(**overrides):
        server = LiveServer(make_app(**overrides)).start()
        servers.append(server)
        return server

    yield build
    for server in servers:
        server.stop()


# --- Playwright with Debian's Chromium (never Playwright's own download) ---

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    # Our own, so pytest-playwright's deprecated fixture is never used; pages use live_server.url.
    return None
