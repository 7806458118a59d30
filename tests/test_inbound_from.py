"""Inbound SMS: the sender's number is normalised before it is looked up, and a malformed one stores nothing."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from messaging.audit import SYSTEM
from messaging.client.conversations import read_thread
from messaging.db import db
from messaging.models import AuditEntry, Contact, Delivery, Message
from messaging.people.consent import opted_out_at
from seeds.factories import make_contact
from tests.support.fake_twilio import PUBLIC_BASE_URL as PUBLIC

PATH = "/hooks/twilio/inbound"


def _inbound(app, sender: str, body: str, sid: str):
    """POST like Twilio: the form fields signed over the public URL with the auth token."""
    params = {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": sid}
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature(PUBLIC + PATH, params)
    return app.test_client().post(PATH, data=params, headers={"X-Twilio-Signature": signature})


def _counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Contact, Message, Delivery, AuditEntry))


@pytest.mark.parametrize("sender", ["hello<script>", "12", "+1 415", "+999 1234 5678", "STOP"])
def test_a_text_from_a_malformed_number_is_answered_but_stores_nothing(twilio_app, caplog, sender):
    before = _counts(twilio_app)
    with caplog.at_level(logging.WARNING):
        response = _inbound(twilio_app, sender, "STOP", sid="SM" + "b" * 32)
    # 200 with empty TwiML, like any other text: Twilio neither retries nor answers the sender.
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert "<Message" not in response.get_data(as_text=True)
    assert _counts(twilio_app) == before
    assert any("dropped an inbound SMS" in record.getMessage() and record.levelno == logging.WARNING
               for record in caplog.records)


def test_a_differently_written_number_finds_the_existing_contact(twilio_app):
    with twilio_app.app_context():
        contact_id = make_contact(first_name="Rae", phone="+14155550101").id
        contacts_before = db.session.scalar(select(func.count()).select_from(Contact))
    response = _inbound(twilio_app, "+1 (415) 555-0101", "Thursday works", sid="SM" + "c" * 32)
    assert response.status_code == 200
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == contacts_before
        thread = read_thread(db.session.get(Contact, contact_id), SYSTEM, purpose="test")
        assert [(item.direction, item.body) for item in thread] == [("in", "Thursday works")]


def test_stop_from_a_differently_written_number_opts_the_contact_out(twilio_app):
    with twilio_app.app_context():
        contact_id = make_contact(phone="+14155550102").id
    _inbound(twilio_app, "+1 415-555-0102", "STOP", sid="SM" + "d" * 32)
    with twilio_app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert opted_out_at(contact) is not None
        [confirmation] = db.session.scalars(select(Delivery)).all()
        assert confirmation.to_address == "+14155550102"
