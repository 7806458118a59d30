"""The fan-out: turning a sent broadcast's recipients into messages, in batches, resumable, never twice.

A pass (the scheduler's, or ``flask --app wsgi deliver``) starts the scheduled broadcasts whose
time has come, then works through each ``sending`` one it can claim. The claim is a conditional
UPDATE with a lease, so one worker at a time fans a broadcast out. Each batch is one transaction:
take the next recipients still without a message (keyset on the contact id), check the frequency
cap again (another send may have reached them since ``/send``), queue their messages with
``queue_bulk``, point the recipients at them, and renew the lease — only while the broadcast is
still sending and still this worker's, so a pause or a cancel stops the very next batch. A worker
killed mid-batch leaves that batch rolled back; once its lease runs out the next pass resumes at
the first recipient without a message. The unique key on (broadcast, contact) of ``message`` is
the last word: a batch that would double anyone fails whole and is retried from where things are.
This module owns its transactions.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from messaging import clock
from messaging.db import db
from messaging.models import Broadcast, BroadcastRecipient, Contact, Delivery, Message
from messaging.outreach.broadcasts import level_of
from messaging.outreach.deciding import RecipientDecider
from messaging.outreach.frequency import over_cap, recent_bulk_counts
from messaging.outreach.queueing import BulkSource, queue_bulk
from messaging.settings import get_settings, parse_frequency_cap
from messaging.webhooks import emit

UNFINISHED = ("queued", "sending", "paused")


@dataclass
class BroadcastPassResult:
    """What one pass did, for the CLI and the logs."""

    started: int = 0  # scheduled broadcasts whose time came
    queued: int = 0  # messages queued
    capped: int = 0  # recipients moved to frequency_capped at fan-out
    finished: int = 0  # broadcasts whose fan-out ended in this pass
    sent: int = 0  # broadcasts marked sent (fanned out, nothing left to deliver)
    errors: list[str] = field(default_factory=list)


def _worker() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["FANOUT_LEASE_SECONDS"])


def start_due(now: datetime) -> int:
    """Scheduled broadcasts whose send_at has come start sending (committed)."""
    started = db.session.execute(
        update(Broadcast).where(Broadcast.status == "scheduled", Broadcast.send_at <= now).values(status="sending")
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return started


def claim(broadcast_id: int, worker: str) -> bool:
    """Take the broadcast's fan-out for ``worker`` (committed); False if another worker holds it."""
    now = clock.utcnow()
    claimed = db.session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == "sending",
                                Broadcast.fanout_done_at.is_(None),
                                or_(Broadcast.lease_until.is_(None), Broadcast.lease_until < now))
        .values(claimed_by=worker, lease_until=now + _lease()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(claimed)


def _still_mine(broadcast_id: int, worker: str, **values) -> bool:
    now = clock.utcnow()
    return bool(db.session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == "sending",
                                Broadcast.claimed_by == worker)
        .values({"lease_until": now + _lease(), **values}).execution_options(synchronize_session=False)).rowcount)


def _next_recipients(broadcast_id: int, size: int) -> list[Contact]:
    return list(db.session.execute(
        select(Contact).join(BroadcastRecipient, BroadcastRecipient.contact_id == Contact.id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.outcome == "to_send",
               BroadcastRecipient.message_id.is_(None))
        .order_by(Contact.id).limit(size)).scalars())


def _set_outcomes(broadcast_id: int, rows: list[dict]) -> None:
    if rows:
        db.session.execute(
            update(BroadcastRecipient.__table__)
            .where(BroadcastRecipient.broadcast_id == broadcast_id,
                   BroadcastRecipient.contact_id == bindparam("cid"), BroadcastRecipient.message_id.is_(None))
            .values(outcome=bindparam("new_outcome"), message_id=bindparam("mid")), rows)


def _run_batch(broadcast: Broadcast, decider: RecipientDecider, source: BulkSource, limits, worker: str,
               size: int, result: BroadcastPassResult) -> bool:
    """One batch in one transaction; False when the fan-out is over (done, paused, cancelled, lost)."""
    contacts = _next_recipients(broadcast.id, size)
    now = clock.utcnow()
    if not contacts:
        done = _still_mine(broadcast.id, worker, fanout_done_at=now, claimed_by=None, lease_until=None)
        db.session.commit()
        result.finished += int(done)
        return False
    recent = recent_bulk_counts([c.id for c in contacts], now) if limits else {}
    capped = [c for c in contacts if limits and over_cap(recent[c.id], limits)]
    sending = [c for c in contacts if not (limits and over_cap(recent[c.id], limits))]
    ids = queue_bulk(source, [(c, decider.for_contact(c)) for c in sending], now)
    _set_outcomes(broadcast.id, [{"cid": c.id, "new_outcome": "frequency_capped", "mid": None} for c in capped]
                  + [{"cid": cid, "new_outcome": "to_send", "mid": mid} for cid, mid in ids.items()])
    if not _still_mine(broadcast.id, worker):
        db.session.rollback()  # paused, cancelled, or the lease went to another worker meanwhile
        return False
    db.session.commit()
    result.queued += len(ids)
    result.capped += len(capped)
    return True


def fan_out(broadcast_id: int, worker: str, deadline: float, result: BroadcastPassResult) -> None:
    """Batches of one claimed broadcast until it is done, stops being ours, or the pass's time is up."""
    broadcast = db.session.get(Broadcast, broadcast_id)
    source = BulkSource(template=broadcast.template, situation=broadcast.situation, level=level_of(broadcast),
                        broadcast_id=broadcast.id, created_by_id=broadcast.created_by_id,
                        api_key_id=broadcast.api_key_id, override_reason=broadcast.override_reason)
    decider = RecipientDecider(broadcast.template, broadcast.situation, level_of(broadcast))
    limits = parse_frequency_cap(get_settings().frequency_cap)
    size = current_app.config["FANOUT_BATCH_SIZE"]
    while time.monotonic() < deadline:
        try:
            if not _run_batch(broadcast, decider, source, limits, worker, size, result):
                return
        except IntegrityError as exc:  # another worker queued some of these: start again from where things are
            db.session.rollback()
            result.errors.append(f"broadcast {broadcast_id}: {exc.__class__.__name__}")
            return
    _still_mine(broadcast_id, worker, claimed_by=None, lease_until=None)  # time is up: let the next pass go on
    db.session.commit()


def mark_sent(now: datetime) -> int:
    """Fanned-out broadcasts with nothing left to deliver are sent (committed)."""
    unfinished = exists().where(Delivery.message_id == Message.id, Message.broadcast_id == Broadcast.id,
                                Delivery.status.in_(UNFINISHED))
    done = db.session.execute(
        update(Broadcast).where(Broadcast.status == "sending", Broadcast.fanout_done_at.is_not(None), ~unfinished)
        .values(status="sent", finished_at=now).returning(Broadcast.id)
        .execution_options(synchronize_session=False)).scalars().all()
    for broadcast_id in done:
        emit("broadcast.finished", broadcast_id=broadcast_id, status="sent")
    db.session.commit()
    return len(done)


def run_broadcasts(max_seconds: float = 30.0, now: datetime | None = None) -> BroadcastPassResult:
    """One pass over the broadcasts: start those due, fan out what can be claimed, mark the finished sent."""
    result = BroadcastPassResult()
    deadline = time.monotonic() + max_seconds
    result.started = start_due(now or clock.utcnow())
    worker = _worker()
    waiting = list(db.session.execute(select(Broadcast.id).where(
        Broadcast.status == "sending", Broadcast.fanout_done_at.is_(None)).order_by(Broadcast.id)).scalars())
    for broadcast_id in waiting:
        if time.monotonic() >= deadline:
            break
        if claim(broadcast_id, worker):
            fan_out(broadcast_id, worker, deadline, result)
    result.sent = mark_sent(now or clock.utcnow())
    return result
