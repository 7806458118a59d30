"""STOP and START as the client texts them (signed Twilio webhooks into the app): the ledger rows they write,
and what is sent afterwards on each channel."""
from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Contact, Message
from messaging.people.consent import consent_history, consent_map, record_consent
from messaging.policy.optout import SMS_ACTOR
from seeds.factories import make_contact, situation
from tests.support.fake_twilio import PUBLIC_BASE_URL as PUBLIC
from tests.support.messages import send
from tests.support.records import audit_entries

TOKEN = "test-auth-token"


@pytest.fixture
def hooked(make_app):
    """An app whose Twilio webhooks are signed with TOKEN; messages go to the outbox."""
    return make_app(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC)


def _text(app, sender: str, body: str, sid: str) -> None:
    params = {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": sid}
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/hooks/twilio/inbound", params)
    response = app.test_client().post("/hooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.get_data(as_text=True)


def _rows(contact) -> list[tuple]:
    return [(e.channel, e.purpose, e.granted, e.source, e.actor) for e in consent_history(contact)]


def test_stop_withdraws_both_purposes_on_sms_and_voice_and_email_carries_on(hooked):
    with hooked.app_context():
        contact = make_contact()
        record_consent(contact, "sms", "marketing", True, "staff", SMS_ACTOR)  # so marketing has a state to lose
        db.session.commit()
        contact_id, phone, email = contact.id, contact.phone, contact.email
        pending_sms = send(contact, channel="sms", body="Lab results are in", secure=True).id
    _text(hooked, phone, "STOP", "SM" + "1" * 32)
    with hooked.app_context():
        contact = db.session.get(Contact, contact_id)
        assert consent_map(contact) == {"sms": {"transactional": False, "marketing": False},
                                        "voice": {"transactional": False, "marketing": False},
                                        "email": {"transactional": True, "marketing": False}}
        written = _rows(contact)[:3]
        assert sorted(written) == [("sms", "marketing", False, "keyword", "sms-keyword"),
                                   ("sms", "transactional", False, "keyword", "sms-keyword"),
                                   ("voice", "transactional", False, "keyword", "sms-keyword")]
        [opt_out] = audit_entries("contact.opt_out")
        assert opt_out.target_id == str(contact_id) and opt_out.detail["source"] == "keyword"

        by_sms = send(contact, channel="sms", body="Your appointment is on Tuesday", secure=False)
        by_voice = send(contact, channel="voice", body="Your appointment is on Tuesday", secure=False)
        by_email = send(contact, channel="email", body="Your appointment is on Tuesday", secure=False)
        assert (by_sms.status, by_voice.status, by_email.status) == ("suppressed", "suppressed", "queued")
        assert "opted out of texts" in by_sms.suppressed_reason and "calls" in by_voice.suppressed_reason

        result = dispatch_once()
        # The confirmation and the e-mail go; the notice queued before STOP is stopped at send time.
        assert (result.sent, result.suppressed) == (2, 1)
        assert db.session.get(Message, pending_sms).status == "suppressed"
        [confirmation] = read_outbox(phone)
        assert "no more texts or calls" in confirmation["body"] and "START" in confirmation["body"]
        assert [row["body"] for row in read_outbox(email)] == ["Your appointment is on Tuesday"]


def test_a_second_stop_writes_nothing_more(hooked):
    with hooked.app_context():
        contact = make_contact()
        contact_id, phone = contact.id, contact.phone
    _text(hooked, phone, "STOP", "SM" + "2" * 32)
    _text(hooked, phone, "unsubscribe", "SM" + "3" * 32)
    with hooked.app_context():
        assert len(consent_history(db.session.get(Contact, contact_id))) == 2  # sms and voice transactional
        assert len(audit_entries("contact.opt_out")) == 1


def test_help_after_stop_is_still_answered_but_nothing_else_goes(hooked):
    with hooked.app_context():
        contact = make_contact()
        phone = contact.phone
    _text(hooked, phone, "STOP", "SM" + "4" * 32)
    _text(hooked, phone, "HELP", "SM" + "5" * 32)
    with hooked.app_context():
        assert dispatch_once().sent == 2
        bodies = [row["body"] for row in read_outbox(phone)]
        assert "unsubscribed" in bodies[0] and "STOP" in bodies[1] and "START" in bodies[1]


def test_start_grants_transactional_on_sms_and_voice_again_but_never_marketing(hooked):
    with hooked.app_context():
        contact = make_contact(marketing_consent=True)
        contact_id, phone = contact.id, contact.phone
    _text(hooked, phone, "STOP", "SM" + "6" * 32)
    _text(hooked, phone, "START", "SM" + "7" * 32)
    with hooked.app_context():
        contact = db.session.get(Contact, contact_id)
        assert consent_map(contact) == {"sms": {"transactional": True, "marketing": False},
                                        "voice": {"transactional": True, "marketing": False},
                                        "email": {"transactional": True, "marketing": True}}
        assert sorted(_rows(contact)[:2]) == [("sms", "transactional", True, "keyword", "sms-keyword"),
                                              ("voice", "transactional", True, "keyword", "sms-keyword")]
        assert audit_entries("contact.opt_in")[0].detail["source"] == "keyword"
        assert send(contact, channel="sms", body="Welcome back", secure=False).status == "queued"
        # Marketing by text stays withdrawn after START; by e-mail it was never touched.
        offer = {"body": "Spring offer", "situation": situation("marketing"), "secure": False}
        assert send(contact, channel="sms", **offer).status == "suppressed"
        assert send(contact, channel="email", **offer).status == "queued"
        assert dispatch_once().sent == 4  # STOP and START confirmations, the welcome text, the e-mail offer
        bodies = [row["body"] for row in read_outbox(phone)]
        assert "unsubscribed" in bodies[0] and "subscribed again" in bodies[1] and bodies[2] == "Welcome back"
