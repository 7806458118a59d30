"""The preview's promise: the client receives exactly the text the compose preview showed.

Every kind of message (standard and secure, by SMS, e-mail and voice, typed or from a template)
is previewed, sent through the normal path and dispatched; what the outbox recorded must equal
the preview's client text and subject, with the real link where the preview has its placeholder.
"""
from __future__ import annotations

import re

import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import LINK_PLACEHOLDER, MessageRequest, preview_message, send_message
from seeds.factories import make_contact, make_template

LINK_TOKEN = re.compile(r"/m/[A-Za-z0-9_.\-]+")
TEMPLATES = {
    "sms": {"body": "Hi {{ first_name }}, {{ org_name }} has news about your visit."},
    "email": {"subject": "Your visit to {{ org_name }}",
              "body": "Dear {{ first_name }},\n\nYour visit is confirmed.\n\n{{ org_name }}"},
    "voice": {"body": "Hello {{ first_name }}. This is {{ org_name }} calling about your visit."},
}
NOTICE = "{{ org_name }} has a secure message for {{ first_name }}: {{ link }} (it stays open 3 days)"
TYPED = {"body": "Hello Robin, see you on Friday.", "subject": "About Friday"}


def _request(contact, channel: str, secure: bool, from_template: bool) -> MessageRequest:
    if from_template:
        template = make_template(channel=channel, notification_text=NOTICE, **TEMPLATES[channel])
        return MessageRequest(contact=contact, channel=channel, template=template, secure=secure)
    subject = TYPED["subject"] if channel == "email" else None
    return MessageRequest(contact=contact, channel=channel, body=TYPED["body"], subject=subject, secure=secure)


def _dispatch_all() -> None:
    for _ in range(3):  # a secure call queues its link SMS for the next pass
        if not dispatch_once().claimed:
            return


def _received(records: list[dict], channel: str, secure: bool) -> tuple[str | None, str]:
    """The subject and text the client got, as the preview words it; the link's token replaced."""
    def heard_or_read(record: dict) -> str:
        return LINK_TOKEN.sub(f"/m/{LINK_PLACEHOLDER}", record["speak"] if record["channel"] == "voice"
                              else record["body"])

    if channel == "voice" and secure:
        [call] = [r for r in records if r["channel"] == "voice"]
        [link] = [r for r in records if r["channel"] == "sms"]
        assert len(records) == 2
        return None, f"Voice call: {heard_or_read(call)}\n\nThen by SMS: {heard_or_read(link)}"
    [record] = records
    return record["subject"], heard_or_read(record)


@pytest.mark.parametrize("from_template", [False, True], ids=["typed", "template"])
@pytest.mark.parametrize("channel", ["sms", "email", "voice"])
@pytest.mark.parametrize("secure", [False, True], ids=["standard", "secure"])
def test_the_client_receives_exactly_what_the_preview_showed(ctx, secure, channel, from_template):
    contact = make_contact(first_name="Robin", pin="2468")
    request = _request(contact, channel, secure, from_template)
    preview = preview_message(request)
    assert preview.decision.mode == ("secure" if secure else "standard")
    send_message(request, SYSTEM)
    db.session.commit()
    _dispatch_all()
    records = read_outbox(contact.email if channel == "email" else contact.phone)
    assert _received(records, channel, secure) == (preview.subject, preview.client_text)
