"""The re-notify ladder: another generic notice for a secure message still unread after N hours.

``Settings.renotify_hours`` (e.g. ``24, 72``; empty = never) counts from the moment the first
notice was sent. Step *k* is queued as a ``renotice`` delivery whose idempotency key is
``renotice:<public id>:<k>``; the key is unique in the table, so two schedulers racing on the
same message can add step *k* only once, and a message never gets more renotices than the
ladder has rungs. A renotice waits for quiet hours like any reminder.

The ladder stops at the first view, at revocation or when the link expires. A message whose
ladder ran out unread is flagged for staff (``Message.unread_flagged_at``) **at the moment its
last renotice is sent** (or ends failed or suppressed, because nothing more will reach the
client), or when its link expires first. An empty ladder flags nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from messaging import clock
from messaging.db import db
from messaging.models import Delivery, Message
from messaging.people.consent import has_consent
from messaging.settings import InvalidSetting, get_settings, parse_hour_ladder

OPEN_STATUSES = ("queued", "sending")


@dataclass
class RenotifyResult:
    """What one look at the ladder did: renotices queued, messages flagged unread."""

    queued: int = 0
    flagged: int = 0


def ladder_from(text: str | None) -> list[int]:
    """The ladder in hours; a value that no longer parses counts as 'never' rather than crashing a pass."""
    try:
        return parse_hour_ladder(text or "")
    except InvalidSetting:
        return []


def renotice_key(message: Message, step: int) -> str:
    """The idempotency key of the message's renotice number ``step``: queued once, whoever looks."""
    return f"renotice:{message.public_id}:{step}"


def renotice_channel(message: Message) -> str:
    """A voice message's link went by SMS, so its reminders do too."""
    return "sms" if message.channel == "voice" else message.channel


def first_notice_sent_at(message: Message) -> datetime | None:
    """When the first notice went out (the ladder counts from there); None while none has."""
    times = [d.sent_at for d in message.deliveries if d.kind == "notice" and d.sent_at is not None]
    return min(times) if times else None


def flag_unread(message: Message, now: datetime) -> bool:
    """Flag the message as unread for staff, once. True when it was flagged now."""
    if message.viewed_at is not None or message.unread_flagged_at is not None:
        return False
    message.unread_flagged_at = now
    return True


def after_renotice_sent(message: Message, ladder: list[int], now: datetime) -> bool:
    """Called when a renotice went out: flag the message if that was the ladder's last rung."""
    renotices = [d for d in message.deliveries if d.kind == "renotice"]
    if ladder and len(renotices) >= len(ladder) and not any(d.status in OPEN_STATUSES for d in renotices):
        return flag_unread(message, now)
    return False


def _address(message: Message, channel: str) -> str | None:
    contact = message.contact
    return contact.email if channel == "email" else contact.phone


def _step(message: Message, ladder: list[int], now: datetime, result: RenotifyResult) -> None:
    first = first_notice_sent_at(message)
    if first is None:
        return
    renotices = [d for d in message.deliveries if d.kind == "renotice"]
    if any(d.status in OPEN_STATUSES for d in renotices):
        return  # one rung at a time; the one waiting (perhaps for quiet hours) comes first
    if message.expires_at is not None and message.expires_at <= now:
        result.flagged += flag_unread(message, now)  # the link is dead: no notice can help any more
        return
    step = len(renotices)
    if step >= len(ladder):
        result.flagged += flag_unread(message, now)
        return
    if now < first + timedelta(hours=ladder[step]):
        return
    channel = renotice_channel(message)
    address = _address(message, channel)
    if not address or not has_consent(message.contact, channel, "transactional"):
        result.flagged += flag_unread(message, now)  # nothing more can reach the client
        return
    savepoint = db.session.begin_nested()
    try:
        db.session.add(Delivery(message=message, kind="renotice", channel=channel, to_address=address,
                                next_attempt_at=now, idempotency_key=renotice_key(message, step + 1)))
        savepoint.commit()
        result.queued += 1
    except IntegrityError:
        savepoint.rollback()  # another scheduler queued this rung first


def schedule_renotices(now: datetime | None = None) -> RenotifyResult:
    """Queue the next due rung of every unread secure message, flag those whose ladder is done.

    Safe to run from several processes at once. Commits.
    """
    now = now or clock.utcnow()
    result = RenotifyResult()
    ladder = ladder_from(get_settings().renotify_hours)
    if not ladder:
        db.session.commit()
        return result
    earliest_first_notice = now - timedelta(hours=ladder[0])
    notice_old_enough = exists().where(Delivery.message_id == Message.id, Delivery.kind == "notice",
                                       Delivery.sent_at <= earliest_first_notice)
    candidates = db.session.execute(
        select(Message).where(
            Message.direction == "out", Message.mode == "secure", Message.viewed_at.is_(None),
            Message.unread_flagged_at.is_(None), Message.revoked_at.is_(None),
            Message.status.in_(("sent", "delivered")), notice_old_enough)
        .options(selectinload(Message.deliveries), selectinload(Message.contact))
        .order_by(Message.id)).scalars().all()
    for message in candidates:
        _step(message, ladder, now, result)
    db.session.commit()
    return result
