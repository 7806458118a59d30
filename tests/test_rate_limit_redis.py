"""With REDIS_URL, rate-limit counters live in Redis: web workers in separate processes share one budget.

Needs a Redis server (``TEST_REDIS_URL``, default redis://127.0.0.1:6379/0); skips with the reason otherwise.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seeds.factories import make_api_key
from tests.support.api import ApiCaller, assert_error

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent
SHARED_CONFIG = ("TESTING", "SECRET_KEY", "ENCRYPTION_KEYS", "SQLALCHEMY_DATABASE_URI", "SCHEDULER_ENABLED",
                 "ARGON2_PARAMS", "WTF_CSRF_ENABLED", "REDIS_URL", "RATELIMIT_KEY_PREFIX", "API_RATE_LIMIT")

# Another web worker: its own process, same database, same Redis. Prints the status of each call.
OTHER_WORKER = """
import json, os, sys
from app import create_app
app = create_app(json.loads(os.environ["WORKER_CONFIG"]))
headers = {"Authorization": "Bearer " + os.environ["WORKER_KEY"]}
client = app.test_client()
print(json.dumps([client.get("/api/v1/templates", headers=headers).status_code for _ in range(int(sys.argv[1]))]))
"""


def redis_unavailable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} does not answer ({exc.__class__.__name__})"
    return None


def other_worker_calls(app, key: str, calls: int) -> list[int]:
    config = {name: app.config[name] for name in SHARED_CONFIG}
    env = {**os.environ, "WORKER_CONFIG": json.dumps(config), "WORKER_KEY": key,
           "SECRET_KEY": config["SECRET_KEY"], "ENCRYPTION_KEYS": ",".join(config["ENCRYPTION_KEYS"])}
    done = subprocess.run([sys.executable, "-c", OTHER_WORKER, str(calls)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_web_workers_in_separate_processes_share_one_api_budget_through_redis(make_app):
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    prefix = "sealed-test-" + os.urandom(6).hex()  # this run's counters only
    app = make_app(REDIS_URL=REDIS_URL, RATELIMIT_STORAGE_URI=None, RATELIMIT_KEY_PREFIX=prefix,
                   API_RATE_LIMIT="4/minute")
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    with app.app_context():
        key = make_api_key(role="staff")
    here = ApiCaller(app, app.test_client(), key)

    assert [here.get("/templates").status_code for _ in range(2)] == [200, 200]
    # Counted in memory, the other process would start from zero and answer three 200s.
    assert other_worker_calls(app, key, 3) == [200, 200, 429]
    assert_error(here.get("/templates"), 429, "rate_limited")
