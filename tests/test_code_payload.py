"""A one-time code's sealed payload lives only until the code is sent, as messaging/client/codes.py promises."""
from __future__ import annotations

import re

from messaging.audit import SYSTEM
from messaging.client.codes import issue_code
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.base import TransportError
from messaging.delivery.transports.outbox import OutboxTransport, read_outbox
from messaging.messages import MessageRequest, send_message
from messaging.models import Delivery
from seeds.factories import make_contact

CODE_TEXT = re.compile(r"your code is (\d{6})\.")


class FailsFirstThenOutbox:
    """The e-mail provider refuses the first send (retryable), then the outbox records it."""

    name = "fails-first"
    transactional = False
    max_send_seconds = 0.1

    def __init__(self):
        self.failed = False

    def send(self, outgoing):
        if not self.failed:
            self.failed = True
            raise TransportError("provider said no (503)", retryable=True)
        return OutboxTransport().send(outgoing)


def _queued_code(contact) -> Delivery:
    message = send_message(MessageRequest(contact=contact, channel="sms", body="behind a code", secure=True),
                           SYSTEM)
    db.session.commit()
    dispatch_once()  # the notice
    issue_code(message, ip=None)
    db.session.commit()
    return db.session.execute(db.select(Delivery).filter_by(message_id=message.id, kind="code")).scalar_one()


def test_a_sent_code_leaves_no_sealed_copy_behind(ctx):
    contact = make_contact()
    delivery = _queued_code(contact)
    assert delivery.payload_ciphertext is not None

    assert dispatch_once().sent == 1
    db.session.refresh(delivery)
    assert delivery.status == "sent" and delivery.payload_ciphertext is None
    assert CODE_TEXT.search(read_outbox(contact.email)[-1]["body"])


def test_a_code_that_failed_to_send_keeps_its_payload_for_the_retry_and_drops_it_once_sent(ctx):
    ctx.extensions.setdefault("sealed.transports", {})[("email", "outbox")] = FailsFirstThenOutbox()
    contact = make_contact()
    delivery = _queued_code(contact)

    assert dispatch_once().retried == 1
    db.session.refresh(delivery)
    assert delivery.status == "queued" and delivery.payload_ciphertext is not None

    assert dispatch_once(now=delivery.next_attempt_at).sent == 1
    db.session.refresh(delivery)
    assert delivery.status == "sent" and delivery.payload_ciphertext is None
    assert CODE_TEXT.search(read_outbox(contact.email)[-1]["body"])

