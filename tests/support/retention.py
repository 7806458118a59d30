"""Helpers of the retention tests: settings, a secure message with everything that hangs off it, and what is left."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from messaging.attachments.store import add_attachment
from messaging.client.access import add_reply
from messaging.client.codes import issue_code
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.base import TransportError
from messaging.messages import message_content
from messaging.models import Attachment, Delivery, Message, OutboxEntry
from messaging.settings import get_settings
from tests.support.files import PDF
from tests.support.messages import send


def set_settings(**values) -> None:
    """Change organisation settings and commit."""
    settings = get_settings()
    for key, value in values.items():
        setattr(settings, key, value)
    db.session.commit()


@dataclass
class SecureScene:
    """A secure message sent with a code, a file and the client's reply with a file of its own."""

    message: Message
    reply: Message


class RefusesEmail:
    """An e-mail provider that refuses for good: a one-time code sent to it fails and keeps its sealed payload."""

    name = "refuses"
    transactional = False
    max_send_seconds = 0.1

    def send(self, outgoing):
        raise TransportError("mailbox unavailable (550)", retryable=False)


def secure_scene(contact, body: str = "Your results are ready") -> SecureScene:
    """Send a secure SMS with a file, dispatch its notice (outbox), issue a code the e-mail provider refuses (its
    sealed payload stays), add the client's reply with a file (all committed)."""
    message = send(contact, body=body, secure=True)
    add_attachment(message, "results.pdf", PDF)
    db.session.commit()
    dispatch_once()  # the notice, into the outbox
    transports = current_app.extensions.setdefault("sealed.transports", {})
    transports[("email", "outbox")] = RefusesEmail()
    issue_code(message, ip=None)
    db.session.commit()
    dispatch_once()  # the code fails for good
    del transports[("email", "outbox")]
    reply = add_reply(message, "Thank you, I read it", ip=None)
    db.session.flush()
    add_attachment(reply, "scan.pdf", PDF, uploaded_by="client")
    db.session.commit()
    return SecureScene(message=message, reply=reply)


def reload(message: Message) -> Message:
    """The message as the database holds it now."""
    db.session.expire_all()
    return db.session.get(Message, message.id)


def content_of(message: Message) -> str | None:
    """The decrypted body, as stored now."""
    return message_content(reload(message))[1]


def outbox_rows(message: Message) -> int:
    """Outbox records of the message (by its deliveries or its public id)."""
    delivery_ids = db.select(Delivery.id).where(Delivery.message_id == message.id)
    return db.session.scalar(db.select(db.func.count(OutboxEntry.id)).where(
        db.or_(OutboxEntry.delivery_id.in_(delivery_ids), OutboxEntry.message_public_id == message.public_id)))


def attachment_bytes(message: Message) -> list[bytes]:
    """The stored ciphertext of each of the message's files."""
    return list(db.session.scalars(db.select(Attachment.ciphertext).filter_by(message_id=message.id)))


def sealed_payloads(message: Message) -> list[bytes | None]:
    """Each delivery's sealed payload (a one-time code's text until it is sent)."""
    return list(db.session.scalars(db.select(Delivery.payload_ciphertext).filter_by(message_id=message.id)))
