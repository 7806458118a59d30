"""Twilio webhooks: signed status callbacks and inbound SMS (STOP / START / HELP); unsigned → 403."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from messaging.audit import SYSTEM
from messaging.client.conversations import read_thread
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.claim import claim_due_deliveries
from messaging.delivery.engine import dispatch_once, render_outgoing
from messaging.delivery.transports import transport_for
from messaging.messages import MessageRequest, send_message
from messaging.models import Contact, Delivery, Message
from messaging.people.consent import consent_history, opted_out_at
from messaging.settings import get_settings
from seeds.factories import make_contact
from tests.support.api import caller
from tests.support.console import signed_in_client
from tests.support.fake_twilio import PUBLIC_BASE_URL as PUBLIC
from tests.support.messages import send


def post_signed(client, token: str, path: str, params: dict, query: str = "", sign_url: str | None = None,
                tamper: dict | None = None):
    """POST like Twilio: form fields, signed over the public URL and the fields with the auth token."""
    url = sign_url or f"{PUBLIC}{path}{query}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path + query, data={**params, **(tamper or {})}, headers={"X-Twilio-Signature": signature})


def _token(app) -> str:
    return app.config["TWILIO_AUTH_TOKEN"]


# --- signatures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/hooks/twilio/status", "/hooks/twilio/inbound"])
def test_unsigned_altered_or_misaddressed_webhooks_get_403(twilio_app, path):
    client = twilio_app.test_client()
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "From": "+14155550100", "Body": "STOP"}
    assert client.post(path, data=params).status_code == 403
    assert client.post(path, data=params, headers={"X-Twilio-Signature": "bm9wZQ=="}).status_code == 403
    assert post_signed(client, _token(twilio_app), path, params, tamper={"Body": "START"}).status_code == 403
    assert post_signed(client, "not-the-token", path, params).status_code == 403
    assert post_signed(client, _token(twilio_app), path, params,
                       sign_url=f"https://elsewhere.example{path}").status_code == 403
    assert post_signed(client, _token(twilio_app), path, params).status_code in (200, 204)


def test_webhooks_are_refused_when_no_auth_token_is_configured(make_app):
    app = make_app(TWILIO_AUTH_TOKEN=None, PUBLIC_BASE_URL=PUBLIC)
    response = post_signed(app.test_client(), "anything", "/hooks/twilio/inbound", {"From": "+14155550100"})
    assert response.status_code == 403


def test_webhooks_need_no_csrf_token(make_app, fake):
    app = make_app(WTF_CSRF_ENABLED=True, PUBLIC_BASE_URL=PUBLIC, **fake.config())
    response = post_signed(app.test_client(), _token(app), "/hooks/twilio/inbound",
                           {"From": "+14155550100", "Body": "hi", "MessageSid": "SM1"})
    assert response.status_code == 200


# --- status callbacks ----------------------------------------------------------------------------

def test_delivered_callback_marks_the_delivery_and_the_message_delivered(twilio_app, fake):
    client = twilio_app.test_client()
    with twilio_app.app_context():
        message = send(make_contact(), body="See you Tuesday", secure=False)
        dispatch_once()
        delivery = message.deliveries[0]
        db.session.refresh(delivery)
        sid, key = delivery.provider_id, delivery.idempotency_key
    response = post_signed(client, _token(twilio_app), "/hooks/twilio/status",
                           {"MessageSid": sid, "MessageStatus": "delivered"}, query=f"?key={key}")
    assert response.status_code == 204
    with twilio_app.app_context():
        delivery = db.session.get(Delivery, delivery.id)
        assert delivery.status == "delivered" and delivery.delivered_at is not None
        assert delivery.message.status == "delivered"
        assert [e.kind for e in delivery.message.events] == ["queued", "sent", "delivered"]


def test_failed_callback_records_the_error_code_and_21610_opts_the_contact_out(twilio_app, fake):
    client = twilio_app.test_client()
    with twilio_app.app_context():
        contact = make_contact()
        first = send(contact, body="One", secure=False)
        second = send(make_contact(), body="Two", secure=False)
        dispatch_once()
        first_id, second_id, contact_id = first.id, second.id, contact.id
        sids = {m.id: db.session.get(Message, m.id).deliveries[0].provider_id for m in (first, second)}
    post_signed(client, _token(twilio_app), "/hooks/twilio/status",
                {"MessageSid": sids[first_id], "MessageStatus": "undelivered", "ErrorCode": "21610"})
    post_signed(client, _token(twilio_app), "/hooks/twilio/status",
                {"MessageSid": sids[second_id], "MessageStatus": "failed", "ErrorCode": "30003"})
    # a late "sent" report never moves a failed delivery back
    post_signed(client, _token(twilio_app), "/hooks/twilio/status",
                {"MessageSid": sids[second_id], "MessageStatus": "sent"})
    with twilio_app.app_context():
        one, two = db.session.get(Message, first_id), db.session.get(Message, second_id)
        assert (one.status, two.status) == ("failed", "failed")
        assert "30003" in two.deliveries[0].last_error and "21610" in one.deliveries[0].last_error
        failed_event = [e for e in two.events if e.kind == "failed"][0]
        assert failed_event.detail["code"] == "30003"
        assert opted_out_at(db.session.get(Contact, contact_id)) is not None
        assert opted_out_at(two.contact) is None
        rows = consent_history(db.session.get(Contact, contact_id))
        # marketing was never granted, so only transactional changes: on both phone channels, e-mail untouched
        assert {(r.channel, r.purpose, r.granted, r.source) for r in rows} == {
            ("sms", "transactional", False, "provider"), ("voice", "transactional", False, "provider")}


def test_a_callback_for_a_send_whose_worker_died_prevents_a_second_send(twilio_app, fake):
    client = twilio_app.test_client()
    with twilio_app.app_context():
        message = send(make_contact(), body="Hello", secure=False)
        [delivery_id] = claim_due_deliveries(owner="doomed", lease_seconds=5)
        delivery = db.session.get(Delivery, delivery_id)
        transport_for("sms").send(render_outgoing(delivery))  # Twilio accepted; the worker dies here
        db.session.rollback()
        key, message_id = delivery.idempotency_key, message.id
    [accepted] = fake.state.messages()
    post_signed(client, _token(twilio_app), "/hooks/twilio/status",
                {"MessageSid": accepted.sid, "MessageStatus": "sent"}, query=f"?key={key}")
    with twilio_app.app_context():
        result = dispatch_once(now=utcnow() + timedelta(seconds=6))
        assert result.sent == 1
        delivery = db.session.get(Delivery, delivery_id)
        assert delivery.status == "sent" and delivery.provider_id == accepted.sid
        assert db.session.get(Message, message_id).status == "sent"
    assert len(fake.state.messages()) == 1


def test_call_status_callbacks_are_understood(twilio_app, fake):
    client = twilio_app.test_client()
    with twilio_app.app_context():
        contact = make_contact()
        message = send_message(MessageRequest(contact=contact, channel="voice", body="Hi", secure=False), SYSTEM)
        db.session.commit()
        dispatch_once()
        message_id = message.id
        sid = db.session.get(Message, message_id).deliveries[0].provider_id
    post_signed(client, _token(twilio_app), "/hooks/twilio/status", {"CallSid": sid, "CallStatus": "no-answer"})
    with twilio_app.app_context():
        assert db.session.get(Message, message_id).status == "failed"


# --- inbound SMS ---------------------------------------------------------------------------------

def _inbound(app, sender: str, body: str, sid: str | None = None):
    params = {"From": sender, "To": "+15005550006", "Body": body,
              "MessageSid": sid or f"SM{abs(hash((sender, body, utcnow()))):032d}"[:34]}
    response = post_signed(app.test_client(), _token(app), "/hooks/twilio/inbound", params)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return response


def test_a_clients_text_joins_their_conversation_as_standard_and_is_encrypted(twilio_app):
    with twilio_app.app_context():
        contact = make_contact()
        send(contact, body="Shall we move your appointment?", secure=False)
        phone = contact.phone
    _inbound(twilio_app, phone, "Yes please, Thursday works", sid="SM" + "a" * 32)
    _inbound(twilio_app, phone, "Yes please, Thursday works", sid="SM" + "a" * 32)  # Twilio retried
    with twilio_app.app_context():
        contact = db.session.scalars(select(Contact).filter_by(phone=phone)).one()
        thread = read_thread(contact, SYSTEM, purpose="test")
        inbound = [item for item in thread if item.direction == "in"]
        assert len(inbound) == 1
        assert (inbound[0].mode, inbound[0].channel, inbound[0].status) == ("standard", "sms", "received")
        assert inbound[0].body == "Yes please, Thursday works"
        raw = db.session.execute(text("SELECT body_ciphertext FROM message WHERE direction = 'in'")).scalar()
        assert b"Thursday" not in bytes(raw)
        assert opted_out_at(contact) is None


def test_stop_opts_out_confirms_once_and_then_nothing_else_is_sent(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        pending_id = send(contact, body="Your results are ready", secure=True).id
        phone, contact_id = contact.phone, contact.id
    _inbound(twilio_app, phone, " Stop. ")
    with twilio_app.app_context():
        assert opted_out_at(db.session.get(Contact, contact_id)) is not None
        result = dispatch_once()
        assert result.sent == 1 and result.suppressed == 1  # the confirmation goes; the pending notice does not
        assert db.session.get(Message, pending_id).status == "suppressed"
    [confirmation] = fake.state.messages()
    assert confirmation.to == phone and "unsubscribed" in confirmation.form["Body"]
    assert "no more texts or calls" in confirmation.form["Body"] and "START" in confirmation.form["Body"]

    _inbound(twilio_app, phone, "HELP")
    with twilio_app.app_context():
        later = send(db.session.get(Contact, contact_id), body="Marketing!", secure=False)
        assert later.status == "suppressed"
        assert dispatch_once().sent == 1  # the help answer is an automatic reply: it goes, nothing else does
    assert len(fake.state.messages()) == 2


def test_start_opts_back_in_and_confirms(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        phone, contact_id = contact.phone, contact.id
    _inbound(twilio_app, phone, "STOP")
    _inbound(twilio_app, phone, "unstop")
    with twilio_app.app_context():
        assert opted_out_at(db.session.get(Contact, contact_id)) is None
        assert dispatch_once().sent == 2
        message = send(db.session.get(Contact, contact_id), body="Welcome back", secure=False)
        assert message.status == "queued"
    bodies = [m.form["Body"] for m in fake.state.messages()]
    assert "unsubscribed" in bodies[0] and "subscribed again" in bodies[1]


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT"])
def test_every_stop_word_opts_out(twilio_app, word):
    with twilio_app.app_context():
        contact = make_contact()
        phone, contact_id = contact.phone, contact.id
    _inbound(twilio_app, phone, word)
    with twilio_app.app_context():
        assert opted_out_at(db.session.get(Contact, contact_id)) is not None


def test_a_sentence_containing_stop_is_just_a_message(twilio_app):
    with twilio_app.app_context():
        contact = make_contact()
        phone, contact_id = contact.phone, contact.id
    _inbound(twilio_app, phone, "please don't stop the reminders")
    with twilio_app.app_context():
        assert opted_out_at(db.session.get(Contact, contact_id)) is None
        assert dispatch_once().sent == 0


def test_help_answers_with_the_organisations_help_text(twilio_app, fake):
    with twilio_app.app_context():
        get_settings().help_text = "Call us on 020 7946 0000. Reply STOP to stop."
        contact = make_contact()
        db.session.commit()
        phone = contact.phone
    _inbound(twilio_app, phone, "help")
    with twilio_app.app_context():
        assert dispatch_once().sent == 1
    [answer] = fake.state.messages()
    assert answer.form["Body"] == "Sealed demo clinic: Call us on 020 7946 0000. Reply STOP to stop."


def test_a_text_from_an_unknown_number_is_kept_under_a_new_contact(twilio_app):
    _inbound(twilio_app, "+14155550199", "Hi, is this the clinic?")
    with twilio_app.app_context():
        contact = db.session.scalars(select(Contact).filter_by(phone="+14155550199")).one()
        assert "unknown-sender" in contact.tags
        assert len(read_thread(contact, SYSTEM, purpose="test")) == 1


def test_an_automatic_reply_reads_sensibly_in_the_api_and_the_console(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact(first_name="Quinn")
        phone, contact_id = contact.phone, contact.id
    _inbound(twilio_app, phone, "STOP")
    with twilio_app.app_context():
        confirmation = db.session.scalars(select(Message).filter_by(contact_id=contact_id, direction="out")).one()
        public_id = confirmation.public_id

    answer = caller(twilio_app).get(f"/messages/{public_id}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["decided_by"] is None
    assert answer.json["reason"] == "standard — automatic reply to the client's text"

    console = signed_in_client(twilio_app, "staff", "desk@example.com")
    page = console.get(f"/admin/conversations/{contact_id}").get_data(as_text=True)
    assert "automatic reply to the client&#39;s text" in page or "automatic reply to the client's text" in page
    assert "set by system" not in page
