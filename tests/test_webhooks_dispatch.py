"""The webhook dispatcher against a real receiver on loopback: signed posts, down-then-up, retries, leases."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from messaging import clock as core_clock
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import AuditEntry
from messaging.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEvent
from messaging.webhooks import emit
from messaging.webhooks.dispatch import claim_due, dispatch_once, dispatch_webhooks_until_idle, send_again
from messaging.webhooks.endpoints import delete_endpoint, get_endpoint
from tests.support.webhook_receiver import Receiver, register, verify_sealed_webhook


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT=2, WEBHOOK_MAX_ATTEMPTS=3)


@pytest.fixture
def receiver():
    made = []

    def build(**kw):
        made.append(Receiver(**kw))
        return made[-1]

    yield build
    for each in made:
        each.stop()


def _emit(event_type="message.sent", **data):
    event = emit(event_type, **({"message_id": "m_1", "status": "sent"} | data))
    db.session.commit()
    return event.public_id


def _statuses():
    return sorted(db.session.execute(select(WebhookDelivery.status)).scalars())


def test_a_post_is_signed_and_verifies_with_the_documented_snippet(ctx, receiver):
    hook = receiver().start()
    endpoint_id, secret = register(hook.url, ["message.sent"])
    hook.secret = secret
    event_id = _emit(contact_id=7, channel="sms")

    assert dispatch_webhooks_until_idle(max_seconds=10) == 1
    [(headers, body, verified)] = hook.posts
    assert verified
    document = json.loads(body)
    assert set(document) == {"id", "type", "created_at", "data"}
    assert document["id"] == headers["Sealed-Event-Id"] == event_id
    assert document["type"] == "message.sent"
    assert document["data"] == {"message_id": "m_1", "status": "sent", "contact_id": 7, "channel": "sms"}
    assert document["created_at"].endswith("Z")
    assert headers["Sealed-Signature"].startswith("v1=")
    assert abs(int(headers["Sealed-Timestamp"]) - time.time()) < 60
    # The snippet refuses another secret, a changed body and a stale timestamp.
    assert not verify_sealed_webhook(secret + "x", headers, body)
    assert not verify_sealed_webhook(secret, headers, body.replace(b"sent", b"sant"))
    assert not verify_sealed_webhook(secret, headers | {"Sealed-Timestamp": str(int(time.time()) - 3600)}, body)
    assert _statuses() == ["delivered"]
    attempt = db.session.execute(select(WebhookAttempt)).scalar_one()
    assert attempt.status_code == 200 and attempt.error is None


def test_a_receiver_that_is_down_then_up_gets_each_event_once_by_id(ctx, receiver, clock):
    hook = receiver()  # not started: its port is closed
    _, secret = register(hook.url, ["message.sent", "message.failed"])
    hook.secret = secret
    ids = [_emit(), _emit("message.failed", status="failed"), _emit()]

    assert dispatch_webhooks_until_idle(max_seconds=10) == 3
    assert hook.posts == [] and _statuses() == ["queued"] * 3
    attempts = db.session.execute(select(WebhookAttempt)).scalars().all()
    assert len(attempts) == 3 and all(a.status_code is None and "Connection" in a.error for a in attempts)
    assert dispatch_webhooks_until_idle(max_seconds=5) == 0  # the backoff is not over yet

    hook.start()
    clock.ahead(hours=2)
    assert dispatch_webhooks_until_idle(max_seconds=10) == 3
    clock.ahead(hours=4)
    assert dispatch_webhooks_until_idle(max_seconds=10) == 0
    assert sorted(hook.counts) == sorted(ids) and set(hook.counts.values()) == {1}
    assert all(verified for _, _, verified in hook.posts)
    assert _statuses() == ["delivered"] * 3


def test_a_receiver_answering_500_is_retried_with_backoff_until_it_answers_200(ctx, receiver, clock):
    hook = receiver(answer=500).start()
    _, hook.secret = register(hook.url, ["message.sent"])
    event_id = _emit()
    start = core_clock.utcnow()

    dispatch_webhooks_until_idle(max_seconds=10)
    delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", 1, 500)
    assert "HTTP 500" in delivery.last_error
    # Jittered within the upper half of the first 30 s step.
    assert start + timedelta(seconds=14) <= delivery.next_attempt_at <= start + timedelta(seconds=31)
    assert hook.counts[event_id] == 0 and len(hook.posts) == 1

    hook.answer = 200
    clock.ahead(minutes=5)
    dispatch_webhooks_until_idle(max_seconds=10)
    assert hook.counts[event_id] == 1 and len(hook.posts) == 2
    db.session.refresh(delivery)
    assert delivery.status == "delivered" and delivery.attempts == 2
    log = db.session.execute(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id)).scalars().all()
    assert log == [500, 200]


def test_attempts_run_out_into_failed_and_send_again_posts_the_same_event(ctx, receiver, clock):
    hook = receiver(answer=503).start()
    _, hook.secret = register(hook.url, ["message.sent"])
    event_id = _emit()
    for hours in (1, 3, 6):  # WEBHOOK_MAX_ATTEMPTS=3
        dispatch_webhooks_until_idle(max_seconds=10)
        clock.ahead(hours=hours)
    delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert delivery.status == "failed" and delivery.attempts == 3 and len(hook.posts) == 3
    assert dispatch_webhooks_until_idle(max_seconds=5) == 0  # failed stays failed

    hook.answer = 200
    send_again(SYSTEM, delivery)
    db.session.commit()
    assert db.session.execute(select(AuditEntry).filter_by(action="webhook.send_again")).scalar_one()
    dispatch_webhooks_until_idle(max_seconds=10)
    db.session.refresh(delivery)
    assert delivery.status == "delivered"
    assert json.loads(hook.posts[-1][1])["id"] == event_id and hook.counts[event_id] == 1


def test_two_dispatchers_in_threads_never_post_one_delivery_twice(app, receiver):
    hook = receiver(delay=0.05).start()
    with app.app_context():
        _, hook.secret = register(hook.url, ["message.sent"])
        ids = [_emit() for _ in range(30)]
    errors = []

    def work():
        try:
            with app.app_context():  # its own session
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and dispatch_once(limit=3).claimed:
                    pass
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(hook.posts) == 30, "a delivery was posted twice (or not at all)"
    assert sorted(hook.counts) == sorted(ids) and set(hook.counts.values()) == {1}
    with app.app_context():
        owners = set(db.session.execute(select(WebhookDelivery.claimed_by)).scalars())
        assert len(owners) == 2, "both dispatchers took part"
        assert _statuses() == ["delivered"] * 30


def test_a_claim_holds_until_its_lease_runs_out(ctx, clock):
    register("http://127.0.0.1:9/unused", ["message.sent"])
    _emit()
    now = clock.ahead(seconds=1)
    assert len(claim_due(owner="a", now=now)) == 1
    assert claim_due(owner="b", now=now + timedelta(seconds=59)) == []
    assert len(claim_due(owner="b", now=now + timedelta(seconds=61))) == 1  # WEBHOOK_LEASE_SECONDS 60


def test_deleting_an_endpoint_cancels_what_is_pending_and_posts_nothing(ctx, receiver):
    hook = receiver().start()
    endpoint_id, hook.secret = register(hook.url, ["message.sent"])
    _emit()
    _emit()
    assert delete_endpoint(SYSTEM, get_endpoint(endpoint_id)) == 2
    db.session.commit()
    assert emit("message.sent", message_id="m_2") is None  # nothing new for a deleted endpoint
    db.session.commit()
    assert dispatch_webhooks_until_idle(max_seconds=5) == 0
    assert hook.posts == [] and _statuses() == ["cancelled", "cancelled"]


def test_only_subscribed_endpoints_get_deliveries_and_no_endpoint_writes_nothing(ctx):
    assert emit("message.sent", message_id="m_1") is None
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one() == 0
    first, _ = register("http://127.0.0.1:9/a", ["message.sent"])
    second, _ = register("http://127.0.0.1:9/b", ["message.viewed", "message.sent"])
    register("http://127.0.0.1:9/c", ["contact.opted_out"])
    _emit()
    endpoints = db.session.execute(select(WebhookDelivery.endpoint_id)).scalars().all()
    assert sorted(endpoints) == [first, second]
    with pytest.raises(ValueError):
        emit("message.exploded")


def test_an_event_rolled_back_with_its_transaction_is_never_posted(ctx):
    register("http://127.0.0.1:9/a", ["message.sent"])
    emit("message.sent", message_id="m_1")
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one() == 0


def test_a_private_target_is_refused_again_at_send_time(app, ctx, receiver):
    hook = receiver().start()
    register(hook.url, ["message.sent"])
    _emit()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    dispatch_webhooks_until_idle(max_seconds=5)
    assert hook.posts == []
    attempt = db.session.execute(select(WebhookAttempt)).scalar_one()
    assert "refused" in attempt.error and attempt.status_code is None


def test_the_scheduler_job_runs_the_dispatcher(app, receiver):
    from messaging.delivery.scheduler import webhook_job

    hook = receiver().start()
    with app.app_context():
        _, hook.secret = register(hook.url, ["message.sent"])
        event_id = _emit()
    webhook_job(app)
    assert hook.counts[event_id] == 1


def test_a_secret_sealed_under_a_retired_key_is_logged_not_a_crash(ctx, receiver):
    from cryptography.fernet import Fernet

    from messaging.models.webhooks import WebhookEndpoint

    hook = receiver().start()
    endpoint_id, _ = register(hook.url, ["message.sent"])
    db.session.get(WebhookEndpoint, endpoint_id).secret_ciphertext = Fernet(Fernet.generate_key()).encrypt(b"{}")
    db.session.commit()
    _emit()
    assert dispatch_webhooks_until_idle(max_seconds=5) == 1
    assert hook.posts == []
    assert "cannot be unsealed" in db.session.execute(select(WebhookAttempt.error)).scalar_one()
