"""A message sent through the core as the system would send it, and the path of its client link."""
from __future__ import annotations

from flask import current_app

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, link_for, send_message
from messaging.models import Message


def send(contact, channel: str = "sms", actor=SYSTEM, **fields) -> Message:
    """``send_message`` for ``contact`` with these request fields, committed (inside an app context)."""
    message = send_message(MessageRequest(contact=contact, channel=channel, **fields), actor)
    db.session.commit()
    return message


def link_path(message: Message) -> str:
    """The path of the message's client link (PUBLIC_BASE_URL stripped), for the test client."""
    return link_for(message).removeprefix(current_app.config["PUBLIC_BASE_URL"])
