"""APScheduler in the web process by default (started at the first request), off with SCHEDULER_ENABLED=0."""
from __future__ import annotations

import time

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import Message
from seeds.factories import make_contact


def _queue_one(app) -> int:
    with app.app_context():
        message = send_message(MessageRequest(contact=make_contact(), channel="sms", body="Hello", secure=False),
                               SYSTEM)
        db.session.commit()
        return message.id


def _status(app, message_id: int) -> str:
    with app.app_context():
        status = db.session.get(Message, message_id).status
        db.session.remove()
        return status


def test_the_web_process_starts_the_scheduler_at_its_first_request_and_it_sends(make_app):
    app = make_app(TESTING=False, SCHEDULER_ENABLED=True, SCHEDULER_INTERVAL_SECONDS=0.2)
    message_id = _queue_one(app)
    assert "sealed.scheduler" not in app.extensions  # nothing runs before the server serves
    app.test_client().get("/login")
    scheduler = app.extensions["sealed.scheduler"]
    try:
        deadline = time.monotonic() + 15
        while _status(app, message_id) != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _status(app, message_id) == "sent"
        jobs = {job.id for job in scheduler.get_jobs()}
        assert jobs == {"dispatch", "renotify", "imports", "broadcasts", "campaigns", "webhooks", "retention"}
    finally:
        scheduler.shutdown(wait=True)


def test_with_the_scheduler_disabled_the_web_process_sends_nothing(make_app):
    app = make_app(TESTING=False, SCHEDULER_ENABLED=False, SCHEDULER_INTERVAL_SECONDS=0.1)
    message_id = _queue_one(app)
    app.test_client().get("/login")
    time.sleep(0.5)
    assert "sealed.scheduler" not in app.extensions
    assert _status(app, message_id) == "queued"
