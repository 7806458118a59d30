"""SMS and voice through the real Twilio SDK, pointed (TWILIO_API_BASE) at a local Twilio-like server."""
from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports import transport_for
from messaging.delivery.transports.base import Outgoing, TransportError
from messaging.people.consent import consent_history, opted_out_at
from seeds.factories import make_contact
from tests.support.messages import send


def test_sms_goes_through_the_sdk_with_a_status_callback_and_records_the_sid(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact(first_name="Ada")
        message = send(contact, body="Your lab results", secure=True)
        assert dispatch_once().sent == 1
        delivery = message.deliveries[0]
        db.session.refresh(delivery)
        [received] = fake.state.messages()
        assert delivery.provider_id == received.sid and received.sid.startswith("SM")
        assert received.to == contact.phone and received.form["From"] == "+15005550006"
        assert "/m/" in received.form["Body"] and "lab" not in received.form["Body"].lower()
        assert received.form["StatusCallback"] == \
            f"https://sealed.example/hooks/twilio/status?key={delivery.idempotency_key}"
        assert dispatch_once(now=utcnow() + timedelta(hours=1)).claimed == 0
    assert len(fake.state.received) == 1


def test_voice_speaks_standard_content_with_say(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        send(contact, channel="voice", body="Your appointment is Tuesday at ten.", secure=False)
        assert dispatch_once().sent == 1
    [call] = fake.state.calls()
    say = ElementTree.fromstring(call.form["Twiml"]).find("Say")
    assert say.text == "Your appointment is Tuesday at ten."
    assert fake.state.messages() == []


def test_a_secure_message_by_voice_only_says_one_is_waiting_and_the_link_goes_by_sms(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact(first_name="Ada")
        send(contact, channel="voice", body="Your biopsy was benign", secure=True)
        dispatch_once()
        dispatch_once()
    [call] = fake.state.calls()
    spoken = ElementTree.fromstring(call.form["Twiml"]).find("Say").text
    assert "secure message" in spoken and "text message" in spoken
    assert "biopsy" not in spoken and "http" not in spoken
    [sms] = fake.state.messages()
    assert sms.to == call.to and "/m/" in sms.form["Body"] and "biopsy" not in sms.form["Body"]


def test_error_21610_fails_the_delivery_and_opts_the_contact_out(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        fake.state.fail_numbers[contact.phone] = 21610
        message = send(contact, body="Hello", secure=False)
        result = dispatch_once()
        assert result.failed == 1
        db.session.refresh(message)
        db.session.refresh(contact)
        assert message.status == "failed"
        assert "21610" in message.deliveries[0].last_error
        assert opted_out_at(contact) is not None
        assert {(r.channel, r.source) for r in consent_history(contact)} == {("sms", "provider"), ("voice", "provider")}
        # from now on nothing goes to them, not even a new message
        later = send(contact, body="Another", secure=False)
        assert later.status == "suppressed"
    assert len(fake.state.received) == 1


def test_an_invalid_number_fails_at_once_without_retrying(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        fake.state.fail_numbers[contact.phone] = 21211
        message = send(contact, body="Hello", secure=False)
        assert dispatch_once().failed == 1
        assert opted_out_at(contact) is None and consent_history(contact) == []
        assert "21211" in message.deliveries[0].last_error


def test_twilio_down_means_retry_later_then_exactly_one_send(twilio_app, fake):
    with twilio_app.app_context():
        contact = make_contact()
        message = send(contact, body="Hello", secure=False)
        fake.state.down = True
        assert dispatch_once().retried == 1
        fake.state.down = False
        delivery = message.deliveries[0]
        db.session.refresh(delivery)
        assert delivery.status == "queued" and "503" in delivery.last_error
        assert dispatch_once(now=delivery.next_attempt_at).sent == 1
    assert len(fake.state.messages()) == 1 and len(fake.state.received) == 2


def test_wrong_credentials_are_an_error_not_a_send(make_app, fake):
    config = {**fake.config(), "TWILIO_AUTH_TOKEN": "wrong"}
    app = make_app(**config)
    with app.app_context():
        with pytest.raises(TransportError, match="20003"):
            transport_for("sms").send(Outgoing(channel="sms", to="+14155550100", text="hi"))
    assert fake.state.messages() == []


def test_the_twilio_transport_needs_its_settings(make_app):
    app = make_app(SMS_TRANSPORT="twilio", TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_FROM=None)
    with app.app_context():
        with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
            transport_for("sms")
