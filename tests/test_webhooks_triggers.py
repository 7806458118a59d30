"""Each webhook event type comes from its real trigger, once, with ids and states only (never content)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from messaging.audit import SYSTEM
from messaging.client.inbound import receive_sms
from messaging.db import db
from messaging.delivery.engine import dispatch_until_idle
from messaging.delivery.provider_status import record_provider_status
from messaging.models import Campaign, Delivery, Message
from messaging.models.webhooks import WEBHOOK_EVENT_TYPES, WebhookEvent
from messaging.outreach.broadcast_fanout import run_broadcasts
from messaging.outreach.broadcast_states import send_broadcast
from messaging.outreach.broadcasts import create_broadcast
from messaging.outreach.campaign_runner import run_campaigns_once
from messaging.outreach.campaign_states import ACTIONS
from messaging.outreach.campaigns import create_campaign
from messaging.people.consent import change_consent
from messaging.webhooks.dispatch import dispatch_webhooks_until_idle
from seeds.factories import make_contact, make_template
from tests.support.messages import link_path, send
from tests.support.outreach import person, tag_segment, template
from tests.support.webhook_receiver import Receiver, register

BODY = "Your biopsy result is benign"  # content: must never reach a webhook


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE=True)


@pytest.fixture
def hooked(ctx):
    register("http://127.0.0.1:9/unused")  # every event type


def events(event_type: str) -> list[dict]:
    db.session.expire_all()
    return [e.data for e in db.session.execute(select(WebhookEvent).filter_by(type=event_type)
                                               .order_by(WebhookEvent.id)).scalars()]


def _primary(message: Message) -> Delivery:
    return db.session.execute(select(Delivery).filter_by(message_id=message.id)).scalars().first()


def test_a_sent_message_then_the_provider_saying_delivered(hooked):
    contact = make_contact()
    message = send(contact, body=BODY, secure=False)
    assert events("message.sent") == []  # queued is not sent
    dispatch_until_idle(max_seconds=10)
    assert events("message.sent") == [{"message_id": message.public_id, "contact_id": contact.id, "status": "sent",
                                       "channel": "sms", "mode": "standard", "delivery": "content"}]
    delivery = _primary(message)
    record_provider_status(delivery.provider_id, "delivered", key=delivery.idempotency_key)
    db.session.commit()
    record_provider_status(delivery.provider_id, "delivered", key=delivery.idempotency_key)  # a repeated callback
    db.session.commit()
    assert events("message.delivered") == [{"message_id": message.public_id, "contact_id": contact.id,
                                            "status": "delivered", "channel": "sms", "mode": "standard",
                                            "delivery": "content"}]


def test_the_provider_saying_failed(hooked):
    message = send(make_contact(), body=BODY, secure=False)
    dispatch_until_idle(max_seconds=10)
    delivery = _primary(message)
    record_provider_status(delivery.provider_id, "undelivered", error_code="30003", key=delivery.idempotency_key)
    db.session.commit()
    [failed] = events("message.failed")
    assert failed["message_id"] == message.public_id and failed["status"] == "failed" and failed["code"] == "30003"


def test_viewed_on_the_first_view_only_and_replied_from_the_viewer(app, hooked):
    message = send(make_contact(), body=BODY, secure=True, require_pin=False)
    client = app.test_client()
    path = link_path(message)
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # a second view
    assert events("message.viewed") == [{"message_id": message.public_id, "contact_id": message.contact_id,
                                         "status": message.status, "channel": "sms", "mode": "secure"}]
    assert client.post(f"{path}/reply", data={"body": "Thank you, that is a relief"}).status_code == 200
    reply = db.session.execute(select(Message).filter_by(direction="in")).scalar_one()
    assert events("message.replied") == [{"message_id": message.public_id, "reply_id": reply.public_id,
                                          "contact_id": message.contact_id, "channel": "web"}]


def test_an_sms_reply_stop_and_start(hooked):
    contact = make_contact()
    receive_sms(contact.phone, "Can I come on Tuesday?")
    db.session.commit()
    reply = db.session.execute(select(Message).filter_by(direction="in")).scalar_one()
    assert events("message.replied") == [{"reply_id": reply.public_id, "contact_id": contact.id, "channel": "sms"}]

    receive_sms(contact.phone, "STOP")
    receive_sms(contact.phone, "STOP")  # already out: no second event
    db.session.commit()
    # Marketing was never granted: only what changed is named.
    assert events("contact.opted_out") == [{"contact_id": contact.id, "source": "keyword",
                                            "consent": ["sms:transactional", "voice:transactional"]}]
    receive_sms(contact.phone, "START")
    db.session.commit()
    assert events("contact.opted_in") == [{"contact_id": contact.id, "source": "keyword",
                                           "consent": ["sms:transactional", "voice:transactional"]}]
    assert len(events("message.replied")) == 1  # keywords are not replies


def test_consent_changed_by_staff(hooked):
    contact = make_contact()
    change_consent(SYSTEM, contact, "email", "transactional", False, "staff")
    change_consent(SYSTEM, contact, "email", "transactional", False, "staff")  # repeats the state
    change_consent(SYSTEM, contact, "email", "marketing", True, "staff")
    db.session.commit()
    assert events("contact.opted_out") == [{"contact_id": contact.id, "source": "staff",
                                            "consent": ["email:transactional"]}]
    assert events("contact.opted_in") == [{"contact_id": contact.id, "source": "staff",
                                           "consent": ["email:marketing"]}]


def test_a_broadcast_finishing(hooked):
    template("notice", "Hello {{ first_name }}, the clinic moves on Monday.", mode="standard")
    person("Ada", tags=["a"], phone="+15005550102")
    segment = tag_segment("Tag a", "a")
    db.session.commit()
    broadcast = create_broadcast(SYSTEM, name="Move", segment_ids=[segment], template_slug="notice")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    for _ in range(3):
        run_broadcasts(max_seconds=10)
        dispatch_until_idle(max_seconds=10)
    run_broadcasts(max_seconds=5)
    assert events("broadcast.finished") == [{"broadcast_id": broadcast.id, "status": "sent"}]


def test_a_campaign_exit(ctx, clock, hooked):
    t0 = datetime(2030, 3, 4, 9, 0)
    clock.at(t0)
    first = make_template(body="Hello {{ first_name }}, time for your check-up.")
    second = make_template(body="Hello again {{ first_name }}.")
    segment_id = tag_segment("Recall", "recall")
    contact = make_contact(tags=["recall"])
    campaign = create_campaign(SYSTEM, name="Recall", segment_id=segment_id, steps=[
        {"template": first.slug, "delay": {"after": "enrolment", "minutes": 0}},
        {"template": second.slug, "delay": {"after": "previous", "minutes": 60}}])
    db.session.commit()
    ACTIONS["activate"](SYSTEM, campaign)
    db.session.commit()
    run_campaigns_once()
    receive_sms(contact.phone, "stop")
    db.session.commit()
    clock.at(t0 + timedelta(minutes=61))
    run_campaigns_once()
    [exited] = events("campaign.exited")
    assert exited["campaign_id"] == db.session.execute(select(Campaign.id)).scalar_one()
    assert (exited["contact_id"], exited["reason"], exited["state"]) == (contact.id, "opt_out", "exited")


def test_the_receiver_gets_them_signed_and_no_payload_carries_content(ctx):
    hook = Receiver().start()
    try:
        _, hook.secret = register(hook.url)
        contact = make_contact()
        message = send(contact, body=BODY, secure=False)
        dispatch_until_idle(max_seconds=10)
        receive_sms(contact.phone, "Is it benign?")
        receive_sms(contact.phone, "STOP")
        db.session.commit()
        dispatch_webhooks_until_idle(max_seconds=10)
        types = sorted(event["type"] for event in hook.events.values())
        assert types == ["contact.opted_out", "message.replied", "message.sent"]
        assert all(verified for _, _, verified in hook.posts)
        everything = b"".join(body for _, body, _ in hook.posts)
        assert b"benign" not in everything and contact.phone.encode() not in everything
        assert contact.first_name.encode() not in everything
        assert message.public_id in json.dumps(list(hook.events.values()))
        assert set(types) <= set(WEBHOOK_EVENT_TYPES)
    finally:
        hook.stop()
