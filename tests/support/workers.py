"""`flask worker` as a separate process on a test app's database, the way production runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def worker_env(app, database_url: str, **extra) -> dict:
    """The environment of a worker process that shares ``app``'s secrets and sends to the outbox."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "TEST_"))}
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"],
        "ENCRYPTION_KEYS": ",".join(app.config["ENCRYPTION_KEYS"]), "SEALED_ENV": "development",
        "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"], "SCHEDULER_ENABLED": "0",
        "SCHEDULER_INTERVAL_SECONDS": "0.2", "RENOTIFY_INTERVAL_SECONDS": "3600",
        "SMS_TRANSPORT": "outbox", "EMAIL_TRANSPORT": "outbox", "VOICE_TRANSPORT": "outbox",
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """Start `flask worker` with ``env``, its output appended to ``log``."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
