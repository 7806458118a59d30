"""GDPR access and portability: everything Sealed holds about one contact, as one JSON-ready document.

The document is built from the tables directly (not from the console's pages), so nothing a page
leaves out is missing here: the profile, the consent ledger, every message with its content
decrypted (or marked destroyed), its attachments' names (never the bytes), its events and
deliveries, the client's viewer sessions, broadcasts and campaigns. Reading it is an export of
protected content, so it is audited (``contact.export``) in the caller's transaction.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound
from messaging.models import (
    Attachment,
    Broadcast,
    BroadcastRecipient,
    Campaign,
    CampaignEnrolment,
    ConsentEntry,
    Contact,
    Delivery,
    Message,
    MessageEvent,
    Template,
    ViewerSession,
)
from messaging.security.crypto import InvalidToken, decrypt_content, keyring

FORMAT = "sealed.contact-export/1"
CHUNK = 500  # ids per IN list


def _time(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() + ("Z" if isinstance(value, datetime) else "")


def require_admin(actor: Actor, what: str) -> None:
    """GDPR exports and erasures are an admin's: refuse anyone else with a clear message."""
    if not actor.is_admin:
        raise Conflict(f"Only an admin can {what} a contact.", code="admin_only")


def find_contact(contact_id: int) -> Contact:
    """The contact with this id; NotFound (which the CLI and the console report) when there is none."""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"There is no contact with id {contact_id}.")
    return contact


def _profile(contact: Contact) -> dict:
    return {"id": contact.id, "first_name": contact.first_name, "last_name": contact.last_name,
            "phone": contact.phone, "email": contact.email, "language": contact.language,
            "timezone": contact.timezone, "date_of_birth": _time(contact.date_of_birth),
            "tags": list(contact.tags or []), "form_data": dict(contact.form_data or {}),
            "has_pin": contact.has_pin, "pin_set_by": contact.pin_set_by, "pin_set_at": _time(contact.pin_set_at),
            "secure_intro_seen_at": _time(contact.secure_intro_seen_at), "pin_failures": contact.pin_failures,
            "pin_locked_until": _time(contact.pin_locked_until), "created_at": _time(contact.created_at),
            "updated_at": _time(contact.updated_at), "erased_at": _time(contact.erased_at)}


def _consent(contact: Contact) -> list[dict]:
    rows = db.session.scalars(select(ConsentEntry).where(ConsentEntry.contact_id == contact.id)
                              .order_by(ConsentEntry.id))
    return [{"at": _time(e.at), "channel": e.channel, "purpose": e.purpose, "granted": e.granted,
             "source": e.source, "actor": e.actor, "note": e.note} for e in rows]


def _grouped(model, message_ids: list[int]) -> dict[int, list]:
    """Rows of ``model`` (which has ``message_id``) for these messages, by message id, in id order."""
    found = defaultdict(list)
    for start in range(0, len(message_ids), CHUNK):
        part = message_ids[start:start + CHUNK]
        for row in db.session.scalars(select(model).where(model.message_id.in_(part)).order_by(model.id)):
            found[row.message_id].append(row)
    return found


def _content(message: Message) -> dict:
    if message.content_destroyed_at is not None:
        return {"subject": None, "body": None,
                "content_destroyed": {"at": _time(message.content_destroyed_at),
                                      "reason": message.content_destroyed_reason}}
    if message.data_key is None:
        return {"subject": None, "body": None, "content_destroyed": None}
    try:
        fernet = keyring().data_key(message.data_key)
        subject = decrypt_content(fernet, message.subject_ciphertext)
        body = decrypt_content(fernet, message.body_ciphertext)
    except InvalidToken:  # sealed under a master key that has been retired since
        return {"subject": None, "body": None, "content_destroyed": None, "unreadable": True}
    return {"subject": subject, "body": body, "content_destroyed": None}


def _messages(contact: Contact) -> list[dict]:
    messages = list(db.session.scalars(select(Message).where(Message.contact_id == contact.id).order_by(Message.id)))
    ids = [m.id for m in messages]
    public_ids = {m.id: m.public_id for m in messages}
    events, files, deliveries = _grouped(MessageEvent, ids), _grouped(Attachment, ids), _grouped(Delivery, ids)
    templates = dict(db.session.execute(select(Template.id, Template.name)).all())
    out = []
    for m in messages:
        out.append({
            "id": m.public_id, "direction": m.direction, "channel": m.channel, "mode": m.mode, "status": m.status,
            "reply_to": public_ids.get(m.reply_to_id) if m.reply_to_id else None,
            "template": templates.get(m.template_id), "created_at": _time(m.created_at),
            "send_at": _time(m.send_at), "expires_at": _time(m.expires_at), "viewed_at": _time(m.viewed_at),
            "revoked_at": _time(m.revoked_at), "suppressed_reason": m.suppressed_reason,
            **_content(m),
            "attachments": [{"id": a.public_id, "filename": a.filename, "media_type": a.media_type,
                             "size_bytes": a.size_bytes, "uploaded_by": a.uploaded_by,
                             "created_at": _time(a.created_at)} for a in files[m.id]],
            "events": [{"kind": e.kind, "at": _time(e.at), "detail": dict(e.detail or {})} for e in events[m.id]],
            "deliveries": [{"kind": d.kind, "channel": d.channel, "to": d.to_address, "status": d.status,
                            "attempts": d.attempts, "created_at": _time(d.created_at), "sent_at": _time(d.sent_at),
                            "delivered_at": _time(d.delivered_at), "last_error": d.last_error}
                           for d in deliveries[m.id]],
        })
    return out


def _sessions(contact: Contact) -> list[dict]:
    rows = db.session.scalars(select(ViewerSession).where(ViewerSession.contact_id == contact.id)
                              .order_by(ViewerSession.id))
    return [{"started_at": _time(s.created_at), "last_seen_at": _time(s.last_seen_at),
             "ended_at": _time(s.ended_at), "ended_reason": s.ended_reason} for s in rows]


def _outreach(contact: Contact) -> tuple[list[dict], list[dict]]:
    broadcasts = db.session.execute(
        select(Broadcast.id, Broadcast.name, BroadcastRecipient.outcome)
        .join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
        .where(BroadcastRecipient.contact_id == contact.id).order_by(Broadcast.id)).all()
    enrolments = db.session.execute(
        select(Campaign.id, Campaign.name, CampaignEnrolment)
        .join(CampaignEnrolment, CampaignEnrolment.campaign_id == Campaign.id)
        .where(CampaignEnrolment.contact_id == contact.id).order_by(Campaign.id)).all()
    return ([{"id": b_id, "name": name, "outcome": outcome} for b_id, name, outcome in broadcasts],
            [{"id": c_id, "name": name, "state": e.state, "exit_reason": e.exit_reason, "step": e.step,
              "enrolled_at": _time(e.enrolled_at), "ended_at": _time(e.ended_at)} for c_id, name, e in enrolments])


def export_contact(actor: Actor, contact_id: int) -> dict:
    """Everything about one contact as a JSON-ready document (admins only); audited ``contact.export``
    in the caller's transaction, which the caller commits. NotFound when there is no such contact."""
    require_admin(actor, "export")
    contact = find_contact(contact_id)
    messages = _messages(contact)
    broadcasts, campaigns = _outreach(contact)
    document = {"format": FORMAT, "exported_at": _time(clock.utcnow()), "contact": _profile(contact),
                "consent": _consent(contact), "messages": messages, "viewer_sessions": _sessions(contact),
                "broadcasts": broadcasts, "campaigns": campaigns}
    audit(actor, "contact.export", "contact", contact.id, messages=len(messages))
    return document
