"""Appends from many threads at once (each its own session and connection) leave one valid chain with
nothing lost: the head row's lock serialises them. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""
from __future__ import annotations

import threading
import time

from messaging.audit import SYSTEM, Actor, audit
from messaging.audit_chain import verify_chain
from messaging.db import db
from messaging.models import AuditEntry

THREADS = 6
EACH = 15


def _appender(app, n: int, errors: list, start: threading.Barrier) -> None:
    try:
        with app.app_context():
            start.wait()
            for i in range(EACH):
                audit(Actor(label=f"worker-{n}", address=f"198.51.100.{n}"), "campaign.pass", "campaign", n, i=i)
                if i % 3 == 0:  # a transaction with two entries
                    audit(SYSTEM, "broadcast.pause", "broadcast", n, i=i)
                db.session.commit()
            db.session.remove()
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_concurrent_appends_leave_a_valid_chain_with_nothing_lost(make_app):
    app = make_app(seed=False)
    errors: list = []
    start = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_appender, args=(app, n, errors, start)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        report = verify_chain()
        assert report.ok, report.problem
        per_thread = EACH + len(range(0, EACH, 3))
        assert report.checked == THREADS * per_thread
        for n in range(THREADS):
            assert db.session.query(AuditEntry).filter_by(actor=f"worker-{n}").count() == EACH


def test_a_second_session_waits_for_the_first_and_chains_after_it(make_app):
    app = make_app(seed=False)
    appended = threading.Event()
    done: list = []

    def second():
        with app.app_context():
            audit(SYSTEM, "second.append", "x", 2)
            done.append(time.monotonic())
            db.session.commit()
            db.session.remove()

    with app.app_context():
        audit(SYSTEM, "first.append", "x", 1)  # holds the head's lock until this session commits
        appended.set()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not done, "the second append did not wait for the first transaction"
        committed = time.monotonic()
        db.session.commit()
        thread.join(timeout=60)
        assert done and done[0] >= committed
        report = verify_chain()
        assert report.ok and report.checked == 2, report.problem
        actions = [e.action for e in db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars()]
        assert actions == ["first.append", "second.append"]
