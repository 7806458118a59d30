"""A `flask worker` process killed with SIGKILL in the middle of 2,000 deliveries, then restarted:
every delivery reaches the provider (the outbox) exactly once."""
from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from bench.workload import queue_messages
from tests.support.workers import start_worker, worker_env

TOTAL = 2000


def _counts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM delivery GROUP BY status").fetchall())


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_a_worker_killed_mid_run_and_restarted_sends_every_delivery_exactly_once(make_app, tmp_path):
    db_path = tmp_path / "worker.db"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}")
    with app.app_context():
        queue_messages(TOTAL, channel="sms", secure_every=4)
    env = worker_env(app, f"sqlite:///{db_path}", DELIVERY_LEASE_SECONDS=2, DELIVERY_BATCH_SIZE=100)
    log = tmp_path / "worker.log"

    kills_mid_batch = 0
    for _ in range(3):
        worker = start_worker(env, log)
        try:
            _wait_for(lambda: 0 < _counts(db_path).get("sent", 0) < TOTAL - 300
                      and _counts(db_path).get("sending", 0), 60, "the worker to be mid-run", log)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        after_kill = _counts(db_path)
        assert after_kill.get("sent", 0) < TOTAL
        if after_kill.get("sending", 0):
            kills_mid_batch += 1  # claimed rows the dead worker never finished: the lease must bring them back
            break
    assert kills_mid_batch, "no kill landed while rows were claimed"

    worker = start_worker(env, log)
    try:
        _wait_for(lambda: _counts(db_path).get("sent", 0) == TOTAL, 90, "all deliveries to be sent", log)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox_entry").fetchone()[0] == TOTAL
        assert conn.execute("SELECT count(DISTINCT delivery_id) FROM outbox_entry").fetchone()[0] == TOTAL
        assert conn.execute("SELECT count(*) FROM delivery WHERE status != 'sent'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM message WHERE status != 'sent'").fetchone()[0] == 0
        reclaimed = conn.execute("SELECT count(*) FROM delivery WHERE attempts >= 2").fetchone()[0]
        assert reclaimed >= 1  # the rows the dead worker held were claimed again, and still sent once
        sent_events = conn.execute("SELECT count(*) FROM message_event WHERE kind = 'sent'").fetchone()[0]
        assert sent_events == TOTAL
