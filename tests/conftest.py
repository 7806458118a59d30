"""Shared fixtures: a fresh app and database per test, the CLI runner, a live server, Chromium, the stopped
clock, and a guard that fails a test leaving a Flask context pushed. What they build on is in tests/support/.

Set ``TEST_DATABASE_URL`` to run against PostgreSQL; otherwise each test gets its own SQLite file.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from tests.support.app import app_config, dispose, reset_schema
from tests.support.clock import StoppedClock
from tests.support.contexts import pop_leaked_contexts
from tests.support.fake_twilio import PUBLIC_BASE_URL, FakeTwilio
from tests.support.servers import LiveServer

pytest_plugins = ["pytester"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(autouse=True)
def no_context_left_pushed():
    """Fail the test that leaves an app or request context pushed (after its fixtures popped theirs)."""
    yield
    leaked = pop_leaked_contexts()
    assert not leaked, f"the test left Flask contexts pushed: {leaked}"


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """Build an app with config overrides and a fresh schema (seeded unless seed=False)."""
    monkeypatch.setenv("SEALED_ENV", "development")
    apps = []

    def build(seed: bool = True, **overrides):
        app = create_app(app_config(tmp_path, **overrides))
        reset_schema(app)
        if seed:
            from seeds import seed as run_seed

            with app.app_context():
                run_seed()
        apps.append(app)
        return app

    yield build
    for app in apps:
        dispose(app)


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
def clock(monkeypatch):
    """The core's clock, to stop at a moment: ``clock.at(moment)``, ``clock.ahead(minutes=16)``."""
    return StoppedClock(monkeypatch)


@pytest.fixture
def fake():
    """A local HTTP server that answers like Twilio's Messages and Calls endpoints."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def twilio_app(make_app, fake):
    """An app whose SMS and voice go through the Twilio SDK to ``fake``; webhooks signed for the public URL."""
    return make_app(PUBLIC_BASE_URL=PUBLIC_BASE_URL, **fake.config())


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
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make chromium` does it where apt-get "
                    "and root or sudo without a password are available; CI runs these tests)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    # Our own, so pytest-playwright's deprecated fixture is never used; pages use live_server.url.
    return None
