"""What `make run` does, end to end in subprocesses: migrate, seed, first admin, serve, dispatch."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


@pytest.fixture
def run_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "TWILIO_", "FLASK_"))}
    env.update({"SEALED_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
                "SECRET_KEY": "run-test-" + "x" * 40, "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "SCHEDULER_ENABLED": "1", "SCHEDULER_INTERVAL_SECONDS": "0.5",
                "SMS_TRANSPORT": "outbox", "EMAIL_TRANSPORT": "outbox"})
    return env


def flask(env, *args, input=None):
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=env, input=input, capture_output=True, text=True,
                          timeout=120, check=True)


@pytest.mark.slow
def test_fresh_database_is_migrated_seeded_served_and_the_scheduler_delivers(run_env):
    flask(run_env, "db", "upgrade")
    assert "3 contacts" in flask(run_env, "seed", "--demo").stdout
    first = flask(run_env, "users", "ensure-admin").stdout
    assert "admin@example.com" in first and "password:" in first
    key = flask(run_env, "api-keys", "create", "smoke", "--role", "staff").stdout.strip()
    # A message queued while no server runs: the scheduler inside `flask run` must send it.
    assert flask(run_env, "outbox").stdout.strip() == "The outbox is empty."

    port = free_port()
    server = subprocess.Popen([*FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
                              cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                assert urllib.request.urlopen(base + "/login", timeout=2).status == 200
                break
            except OSError:
                time.sleep(0.1)
        contact = json.loads(urllib.request.urlopen(urllib.request.Request(
            base + "/api/v1/contacts", method="POST", headers={"Authorization": f"Bearer {key}",
                                                                "Content-Type": "application/json"},
            data=json.dumps({"first_name": "Run", "last_name": "Check", "phone": "+14155550190"}).encode()),
            timeout=5).read())
        urllib.request.urlopen(urllib.request.Request(
            base + "/api/v1/messages", method="POST", headers={"Authorization": f"Bearer {key}",
                                                                "Content-Type": "application/json"},
            data=json.dumps({"contact_id": contact["id"], "channel": "sms", "body": "Your order is ready",
                             "secure": False}).encode()), timeout=5)
        lines = []
        for _ in range(60):
            lines = flask(run_env, "outbox", "--json", "--to", "+14155550190").stdout.strip().splitlines()
            if lines:
                break
            time.sleep(0.25)
        assert len(lines) == 1, "the scheduler in the web process did not send the message"
        assert json.loads(lines[0])["body"] == "Your order is ready"
    finally:
        server.terminate()
        server.wait(timeout=10)
