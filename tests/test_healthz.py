"""GET /healthz: what a load balancer asks; no sign-in, no cookie, no rate limit, never cached."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from app import create_app
from tests.support.app import app_config, dispose
from tests.support.console import signed_in_client
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_answers() -> str | None:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        return f"Redis at TEST_REDIS_URL ({REDIS_URL}) does not answer: {exc.__class__.__name__}"
    return None


def test_a_working_app_answers_ok_uncached_and_sets_no_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_a_database_that_does_not_answer_is_503_and_the_app_still_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("SEALED_ENV", "development")
    app = create_app(app_config(
        tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}))
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unavailable"}
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        dispose(app)


def test_a_configured_redis_that_answers_is_reported_ok(make_app):
    reason = _redis_answers()
    if reason:
        pytest.skip(reason)
    response = make_app(REDIS_URL=REDIS_URL).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_a_configured_redis_that_does_not_answer_is_503(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}


# Default and application-wide limits stay on the process-wide limiter once an app sets them, so
# this runs in its own interpreter: the rest of the suite must not inherit "5 per minute".
RAPID_PROBES = """
import sys
from app import create_app
from messaging.db import db
from tests.support.app import app_config, reset_schema
from pathlib import Path

app = create_app(app_config(Path(sys.argv[1]), RATELIMIT_DEFAULT="5 per minute",
                            RATELIMIT_APPLICATION="5 per minute"))
reset_schema(app)
client = app.test_client()
probes = [client.get("/healthz").status_code for _ in range(100)]
logins = [client.get("/login").status_code for _ in range(10)]
print(probes.count(200), 429 in logins)
"""


def test_rapid_probes_are_never_rate_limited_even_under_default_limits(tmp_path):
    env = {**os.environ, "SEALED_ENV": "development"}
    result = subprocess.run([sys.executable, "-c", RAPID_PROBES, str(tmp_path)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # 100 probes all answered; the same limits do bite elsewhere, so the exemption is what keeps them at 200.
    assert result.stdout.split() == ["100", "True"]


def test_a_console_session_left_idle_is_neither_signed_out_nor_rewritten_by_a_probe(app):
    console = signed_in_client(app, "admin")
    with console.session_transaction() as session:
        session["last_seen"] = 0  # idle far longer than any timeout
    response = console.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
