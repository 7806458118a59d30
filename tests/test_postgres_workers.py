"""Two `flask worker` processes on one PostgreSQL database and 5,000 deliveries: none twice, none left."""
from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import create_engine, text

from bench.workload import queue_messages
from tests.support.app import TEST_DATABASE_URL, postgres_available, sqlalchemy_url
from tests.support.workers import start_worker, worker_env

TOTAL = 5000

pytestmark = pytest.mark.postgres


def test_two_workers_share_5000_deliveries_without_sending_any_twice(make_app, tmp_path):
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    app = make_app()
    with app.app_context():
        queue_messages(TOTAL, channel="sms", secure_every=4)
    env = worker_env(app, TEST_DATABASE_URL, DELIVERY_BATCH_SIZE=100, DELIVERY_LEASE_SECONDS=60)
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [start_worker(env, log) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                sent = conn.execute(text("SELECT count(*) FROM delivery WHERE status = 'sent'")).scalar()
            if sent == TOTAL or any(w.poll() is not None for w in workers):
                break
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    try:
        with engine.connect() as conn:
            def scalar(sql: str):
                return conn.execute(text(sql)).scalar()

            assert scalar("SELECT count(*) FROM delivery WHERE status = 'sent'") == TOTAL, \
                "\n".join(log.read_text()[-2000:] for log in logs)
            assert scalar("SELECT count(*) FROM outbox_entry") == TOTAL
            assert scalar("SELECT count(DISTINCT delivery_id) FROM outbox_entry") == TOTAL
            # every row was claimed exactly once: no worker ever took a row another one held
            assert scalar("SELECT sum(attempts) FROM delivery") == TOTAL
            assert scalar("SELECT count(*) FROM message_event WHERE kind = 'sent'") == TOTAL
            owners = conn.execute(text("SELECT split_part(claimed_by, ':', 2), count(*) FROM delivery "
                                       "GROUP BY 1")).all()
    finally:
        engine.dispose()
    assert len(owners) == 2 and all(count > 0 for _, count in owners), owners  # both did a share
