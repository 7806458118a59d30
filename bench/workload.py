"""Queued deliveries in bulk, as a large broadcast leaves them: for the benchmark and the worker tests."""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert

from messaging.clock import utcnow
from messaging.db import db
from messaging.models import Contact, Delivery, Message, new_public_id
from messaging.security.crypto import encrypt_content, keyring


def make_contacts(count: int) -> list[int]:
    now = utcnow()
    rows = [{"first_name": f"Bulk{i}", "last_name": "Client", "phone": f"+1415{5550000 + i:07d}",
             "email": f"bulk{i}@example.com", "tags": [], "form_data": {},
             "created_at": now, "updated_at": now} for i in range(count)]
    ids = list(db.session.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows))
    db.session.commit()
    return ids


def queue_messages(count: int, channel: str = "sms", secure_every: int = 0, contacts: int = 50) -> list[int]:
    """``count`` queued messages with one due delivery each, inserted in bulk; returns delivery ids.

    Every message has its own data key and encrypted body, as send_message would store it; every
    ``secure_every``-th message is secure (its delivery is a notice), the rest standard (content).
    """
    contact_ids = make_contacts(contacts)
    ring = keyring()
    now = utcnow()
    messages = []
    for i in range(count):
        data_key, wrapped = ring.new_data_key()
        secure = bool(secure_every) and i % secure_every == 0
        messages.append({
            "public_id": new_public_id(), "contact_id": contact_ids[i % len(contact_ids)], "direction": "out",
            "channel": channel, "mode": "secure" if secure else "standard", "require_pin": False,
            "decided_by": "global", "warnings": [], "status": "queued", "data_key": wrapped,
            "body_ciphertext": encrypt_content(data_key, f"Bulk message number {i}: see you on Tuesday."),
            "subject_ciphertext": encrypt_content(data_key, "Bulk") if channel == "email" else None,
            "created_at": now, "token_version": 1, "pin_failures": 0, "notices_sent": 0,
            "expires_at": now + timedelta(days=7) if secure else None})
    # Core executemany without RETURNING: the ORM's bulk insert with RETURNING crawls on PostgreSQL.
    db.session.execute(insert(Message.__table__), messages)
    public_ids = [m["public_id"] for m in messages]
    by_public_id = dict(db.session.execute(
        db.select(Message.public_id, Message.id).where(Message.public_id.in_(public_ids))).all())
    message_ids = [by_public_id[m["public_id"]] for m in messages]
    to = {cid: addr for cid, addr in db.session.execute(
        db.select(Contact.id, Contact.email if channel == "email" else Contact.phone)
        .where(Contact.id.in_(contact_ids)))}
    deliveries = [{"message_id": mid, "kind": "notice" if row["mode"] == "secure" else "content",
                   "channel": channel, "to_address": to[row["contact_id"]], "status": "queued", "attempts": 0,
                   "next_attempt_at": now, "idempotency_key": secrets.token_hex(16), "created_at": now}
                  for mid, row in zip(message_ids, messages, strict=True)]
    db.session.execute(insert(Delivery.__table__), deliveries)
    delivery_ids = list(db.session.scalars(db.select(Delivery.id).where(Delivery.message_id.in_(message_ids))
                                           .order_by(Delivery.id)))
    db.session.commit()
    return delivery_ids
