"""Queueing many messages at once: the same rows ``messages.send_message`` writes, in bulk SQL.

Each recipient's text is rendered by the same renderer and encrypted under a data key of its own,
as for a one-off; the message, its first delivery and its ``queued`` event are then inserted with
one multi-row statement per table instead of one ORM object each. The caller's transaction holds
them, so a batch lands whole or not at all, and the unique keys on ``message`` (broadcast or
campaign step, with the contact) make a doubled recipient an IntegrityError rather than a
second message. One audit entry covers the whole broadcast or step, written by the caller.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, insert, literal, select, update

from messaging.db import db
from messaging.messages import address_for, render_content
from messaging.models import Contact, Delivery, Message, MessageEvent, Situation, Template, new_public_id
from messaging.outreach.deciding import BulkLevel, request_for
from messaging.policy.decision import Decision
from messaging.policy.link_lifetime import link_lifetime_hours
from messaging.security.crypto import encrypt_content, keyring
from messaging.settings import get_settings

PROGRESS_STATUSES = {"queued": ("queued", "scheduled"), "sent": ("sent",), "delivered": ("delivered",),
                     "failed": ("failed",), "suppressed": ("suppressed",)}
PROGRESS_EVENTS = {"opened": "link_opened", "verified": "verified", "viewed": "viewed", "replied": "replied"}


@dataclass(frozen=True)
class BulkSource:
    """What every message of one bulk send shares: where it comes from, its template and situation."""

    template: Template
    situation: Situation | None
    level: BulkLevel
    broadcast_id: int | None = None
    campaign_step_id: int | None = None
    created_by_id: int | None = None
    api_key_id: int | None = None
    override_reason: str | None = None


def _message_row(source: BulkSource, contact: Contact, decision: Decision, org_name: str, ttl: timedelta,
                 now: datetime) -> dict:
    subject, body = render_content(request_for(contact, source.template, source.situation, source.level), org_name)
    data_key, wrapped = keyring().new_data_key()
    situation = source.situation or source.template.situation
    return {
        "public_id": new_public_id(), "contact_id": contact.id, "direction": "out",
        "channel": source.template.channel, "mode": decision.mode, "require_pin": decision.require_pin,
        "pin_method": decision.pin_method, "decided_by": decision.decided_by,
        "pin_decided_by": decision.pin_decided_by, "recommendation": decision.recommendation,
        "warnings": decision.warning_dicts(), "override_reason": source.override_reason if decision.blocked else None,
        "situation_id": situation.id if situation else None, "template_id": source.template.id,
        "data_key": wrapped, "subject_ciphertext": encrypt_content(data_key, subject),
        "body_ciphertext": encrypt_content(data_key, body), "created_by_id": source.created_by_id,
        "api_key_id": source.api_key_id, "created_at": now, "status": "queued",
        "expires_at": now + ttl if decision.mode == "secure" else None,
        "expire_after_view": bool(source.template.expire_after_view),
        "broadcast_id": source.broadcast_id, "campaign_step_id": source.campaign_step_id,
    }


def queue_bulk(source: BulkSource, recipients: list[tuple[Contact, Decision]], now: datetime) -> dict[int, int]:
    """Queue one message per (contact, decision); returns ``{contact_id: message_id}``. Commits nothing."""
    if not recipients:
        return {}
    settings = get_settings()
    ttl = timedelta(hours=link_lifetime_hours(source.template, settings))
    rows = [_message_row(source, contact, decision, settings.org_name, ttl, now) for contact, decision in recipients]
    # Core statements on the tables (not the ORM's bulk path): the rows are plain dicts already.
    messages = Message.__table__
    inserted = db.session.execute(
        insert(messages).returning(messages.c.id, messages.c.contact_id, sort_by_parameter_order=True), rows).all()
    ids = {contact_id: message_id for message_id, contact_id in inserted}
    channel = source.template.channel
    db.session.execute(insert(Delivery.__table__), [
        {"message_id": ids[contact.id], "kind": "notice" if decision.mode == "secure" else "content",
         "channel": channel, "to_address": address_for(contact, channel), "status": "queued",
         "next_attempt_at": now, "created_at": now, "attempts": 0, "idempotency_key": secrets.token_hex(16)}
        for contact, decision in recipients])
    db.session.execute(insert(MessageEvent.__table__), [
        {"message_id": ids[contact.id], "kind": "queued", "at": now, "detail": {}} for contact, _ in recipients])
    return ids


def _message_ids(condition: ColumnElement[bool]):
    return select(Message.id).where(condition)


def hold_deliveries(condition: ColumnElement[bool]) -> int:
    """Pause: queued deliveries of the matching messages become ``paused``, which no claim picks."""
    return db.session.execute(
        update(Delivery).where(Delivery.status == "queued", Delivery.message_id.in_(_message_ids(condition)))
        .values(status="paused").execution_options(synchronize_session=False)).rowcount


def release_held(condition: ColumnElement[bool]) -> int:
    """Resume: paused deliveries of the matching messages are queued again, due at once if they were."""
    return db.session.execute(
        update(Delivery).where(Delivery.status == "paused", Delivery.message_id.in_(_message_ids(condition)))
        .values(status="queued").execution_options(synchronize_session=False)).rowcount


def cancel_unsent(condition: ColumnElement[bool], now: datetime) -> int:
    """Cancel: what has not gone out never will — deliveries cancelled, messages cancelled, links dead."""
    unsent = _message_ids(condition & Message.status.in_(("queued", "scheduled")))
    db.session.execute(
        update(Delivery).where(Delivery.status.in_(("queued", "paused")), Delivery.message_id.in_(unsent))
        .values(status="cancelled").execution_options(synchronize_session=False))
    db.session.execute(insert(MessageEvent).from_select(
        ["message_id", "kind", "at", "detail"],
        select(Message.id, literal("cancelled"), literal(now), literal({}, MessageEvent.detail.type))
        .where(Message.id.in_(unsent))))
    return db.session.execute(
        update(Message).where(Message.id.in_(unsent))
        .values(status="cancelled", token_version=Message.token_version + 1)
        .execution_options(synchronize_session=False)).rowcount


def progress_counts(condition: ColumnElement[bool]) -> dict[str, int]:
    """Messages by current status, and messages with at least one event of each tracked kind."""
    by_status = dict(db.session.execute(
        select(Message.status, func.count()).where(condition).group_by(Message.status)).all())
    counts = {key: sum(by_status.get(s, 0) for s in statuses) for key, statuses in PROGRESS_STATUSES.items()}
    by_kind = dict(db.session.execute(
        select(MessageEvent.kind, func.count(func.distinct(MessageEvent.message_id)))
        .where(MessageEvent.message_id.in_(_message_ids(condition)),
               MessageEvent.kind.in_(tuple(PROGRESS_EVENTS.values())))
        .group_by(MessageEvent.kind)).all())
    counts.update({key: by_kind.get(kind, 0) for key, kind in PROGRESS_EVENTS.items()})
    return counts
