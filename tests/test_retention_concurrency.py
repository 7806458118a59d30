"""Two retention passes at once (threads, each with its own database session) destroy each message once."""
from __future__ import annotations

import threading
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.models import Message, MessageEvent
from messaging.retention import run_retention
from messaging.retention.shredding import destroy_message
from seeds.factories import make_contact
from tests.support.messages import send
from tests.support.records import audit_entries
from tests.support.retention import set_settings

COUNT = 40


def _due_messages(app, clock) -> list[int]:
    with app.app_context():
        start = clock.ahead()
        set_settings(retention_days=1)
        contact = make_contact()
        ids = [send(contact, body=f"Note {n}", secure=False).id for n in range(COUNT)]
        while dispatch_once().sent:
            pass
        clock.at(start + timedelta(days=2))
        return ids


def test_two_passes_at_once_destroy_and_count_each_message_exactly_once(app, clock):
    ids = _due_messages(app, clock)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def one_pass():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                reports.append(run_retention(SYSTEM, batch_size=3))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(reports) == 2
    assert sum(report.messages for report in reports) == COUNT  # no message counted by both
    with app.app_context():
        destroyed = db.session.scalars(db.select(MessageEvent.message_id).filter_by(kind="content_destroyed")).all()
        assert sorted(destroyed) == sorted(ids)  # each exactly one destruction event
        assert db.session.scalar(db.select(db.func.count(Message.id)).where(
            Message.id.in_(ids), Message.content_destroyed_at.is_(None))) == 0
        assert len(audit_entries("retention.run")) == 2


def test_a_session_holding_a_stale_copy_does_not_destroy_again_what_another_session_destroyed(app, clock):
    ids = _due_messages(app, clock)
    with app.app_context():
        stale = db.session.get(Message, ids[0])
        assert stale.content_destroyed_at is None
        with app.app_context():  # another session, as another process would have
            assert run_retention(SYSTEM).messages == COUNT
        assert destroy_message(stale, "erasure", clock.ahead(days=3)) is False
        db.session.commit()
        assert stale.content_destroyed_reason == "retention"  # the first destruction stands
        kinds = db.session.scalars(db.select(MessageEvent.kind).filter_by(message_id=ids[0])).all()
        assert kinds.count("content_destroyed") == 1
