"""A fan-out killed with SIGKILL in the middle of a broadcast to 3,000 contacts, then resumed by the
next pass: every recipient gets exactly one message, and nothing half-written is left behind."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Contact, ContactTag
from messaging.outreach.broadcast_states import send_broadcast
from messaging.outreach.broadcasts import create_broadcast
from tests.support.app import TEST_DATABASE_URL, postgres_available, sqlalchemy_url
from tests.support.outreach import tag_segment, template
from tests.support.workers import REPO, worker_env

TOTAL = 3000


def _count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute(sql).fetchone()[0]


def _deliver(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "deliver"], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _audience_of(total: int) -> None:
    """A sent broadcast to ``total`` contacts (inserted in bulk), waiting for its fan-out."""
    template("hello", "Hello {{ first_name }}, the clinic reopens on Monday.", mode="standard")
    ids = db.session.execute(insert(Contact).returning(Contact.id), [
        {"first_name": f"C{n}", "last_name": "Kill", "phone": f"+1500556{n:04d}", "tags": ["k"],
         "form_data": {}} for n in range(total)]).scalars().all()
    db.session.execute(insert(ContactTag), [{"contact_id": i, "tag": "k"} for i in ids])
    segment = tag_segment("K", "k")
    broadcast = create_broadcast(SYSTEM, name="Reopening", segment_ids=[segment], template_slug="hello")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    assert broadcast.audience["to_send"] == total


def test_a_fan_out_killed_mid_way_resumes_and_queues_each_recipient_once(make_app, tmp_path):
    db_path = tmp_path / "fanout.db"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}")
    with app.app_context():
        _audience_of(TOTAL)
    env = worker_env(app, f"sqlite:///{db_path}", FANOUT_BATCH_SIZE=25, FANOUT_LEASE_SECONDS=1)
    log = tmp_path / "deliver.log"
    queued = "SELECT count(*) FROM message WHERE broadcast_id IS NOT NULL"

    process = _deliver(env, log)
    try:
        deadline = time.monotonic() + 60
        while not 0 < _count(db_path, queued) < TOTAL - 1000:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert process.poll() is None, "the fan-out ended before it could be killed:\n" + log.read_text()[-3000:]
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    after_kill = _count(db_path, queued)
    assert 0 < after_kill < TOTAL
    # What a batch wrote landed whole: every message belongs to a recipient pointing at it.
    assert _count(db_path, "SELECT count(*) FROM broadcast_recipient WHERE message_id IS NOT NULL") == after_kill
    assert _count(db_path, "SELECT count(*) FROM delivery") == after_kill

    time.sleep(1.2)  # the dead worker's lease runs out
    for _ in range(10):
        process = _deliver(env, log)
        assert process.wait(timeout=120) == 0, log.read_text()[-3000:]
        if _count(db_path, "SELECT count(*) FROM broadcast WHERE fanout_done_at IS NOT NULL"):
            break
    assert _count(db_path, queued) == TOTAL
    assert _count(db_path, "SELECT count(DISTINCT contact_id) FROM message WHERE broadcast_id IS NOT NULL") == TOTAL
    assert _count(db_path, "SELECT count(*) FROM broadcast_recipient WHERE message_id IS NULL") == 0
    assert _count(db_path, "SELECT count(*) FROM message_event WHERE kind = 'queued'") == TOTAL


@pytest.mark.postgres
def test_two_fan_outs_racing_on_postgresql_with_leases_running_out_queue_each_recipient_once(make_app, tmp_path):
    """Leases of a few milliseconds make two `deliver` processes keep taking the broadcast from
    each other mid-way: the conditional UPDATEs and the unique key must still double nobody."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    app = make_app()
    with app.app_context():
        _audience_of(TOTAL)
    env = worker_env(app, TEST_DATABASE_URL, FANOUT_BATCH_SIZE=20, FANOUT_LEASE_SECONDS=0.02)
    logs = [tmp_path / "deliver-a.log", tmp_path / "deliver-b.log"]
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
    try:
        for _ in range(20):
            processes = [_deliver(env, log) for log in logs]
            for process in processes:
                assert process.wait(timeout=120) == 0, "\n".join(log.read_text()[-2000:] for log in logs)
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM broadcast WHERE fanout_done_at IS NOT NULL")).scalar():
                    break
        with engine.connect() as conn:
            def scalar(sql: str):
                return conn.execute(text(sql)).scalar()

            assert scalar("SELECT count(*) FROM message WHERE broadcast_id IS NOT NULL") == TOTAL
            assert scalar("SELECT count(DISTINCT contact_id) FROM message WHERE broadcast_id IS NOT NULL") == TOTAL
            assert scalar("SELECT count(*) FROM broadcast_recipient WHERE message_id IS NULL") == 0
            assert scalar("SELECT count(*) FROM delivery") == TOTAL
    finally:
        engine.dispose()
