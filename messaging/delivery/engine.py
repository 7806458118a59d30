"""The delivery engine: claim due deliveries with a lease, send them, record the outcome.

A ``Delivery`` row is the unit of work (a transactional outbox). Its life:
``queued`` → ``sending`` (claimed, with a lease) → ``sent`` → ``delivered`` | ``failed``;
or ``suppressed`` (the contact opted out), or ``cancelled`` (the message was revoked or cancelled,
or a renotice became pointless). A failed send goes back to ``queued`` with exponential backoff
and jitter until ``DELIVERY_MAX_ATTEMPTS``, then ends ``failed`` with the provider's error.

Exactly once, as far as a provider allows:
- A claim is one ``UPDATE … RETURNING`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
  writer at a time), so two workers never hold the same row.
- A claim holds for ``DELIVERY_LEASE_SECONDS``. A worker that dies leaves its rows ``sending``;
  once the lease has run out another pass claims them again. A live worker stops sending from a
  batch before its lease could run out mid-send, so a reclaimed row is never still in flight.
- Each send carries the row's idempotency key. The outbox transport writes its record in the same
  transaction as the outcome (no window at all); SMTP sends a Message-ID derived from the key;
  with Twilio the SID is committed right after the API call returns, and a row that has a provider
  id is never sent again (see transports/twilio_transport.py for the window that remains).

Work per pass is batched: one claim statement, one query loading the batch with its messages and
contacts, settings read once, and one commit per batch for a transactional transport (the outbox)
or one commit per row for a real provider (recording an acceptance at once matters more there).
"""
from __future__ import annotations

import os
import random
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, String, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import joinedload

from messaging import clock
from messaging.client.codes import render_code_delivery
from messaging.db import db
from messaging.delivery.pacing import Pace, paces_from_config, take_turn
from messaging.delivery.provider_status import PRIMARY_KINDS, sync_message_status
from messaging.delivery.quiet_hours import QuietWindow, parse_quiet_hours, waits_for_quiet_hours
from messaging.delivery.renotify import after_renotice_sent, ladder_from
from messaging.delivery.transports import Outgoing, TransportError, transport_for
from messaging.events import record_event
from messaging.messages import client_facing_text, link_for, message_content
from messaging.models import Delivery, Message, MessageEvent
from messaging.policy.optout import PROVIDER_OPT_OUT_CODES, mark_opted_out, suppression_reason_for
from messaging.rendering.email_html import html_from_text
from messaging.rendering.text import render_notice, voice_notice_text
from messaging.settings import get_settings

LEASE_SECONDS = 120
NOTICE_KINDS = ("notice", "renotice", "link")  # generic text + link (voice: "a secure message is waiting")
LEASE_SAFETY = 0.8  # start a send only while this share of the lease is left for it to finish


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def backoff_seconds(attempt: int, base: float = 30.0, cap: float = 3600.0) -> float:
    """Delay before retry number ``attempt``: about 30 s, then doubling, capped at an hour.

    Jittered within the upper half of the step so retries of a burst spread out but never come
    sooner than half the step.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


def _due_filter(now: datetime):
    return or_(
        (Delivery.status == "queued") & (Delivery.next_attempt_at <= now),
        (Delivery.status == "sending") & (Delivery.lease_until < now),
    )


def claim_due_deliveries(limit: int = 100, owner: str | None = None, lease_seconds: float | None = None,
                         now: datetime | None = None, channel: str | None = None,
                         exclude_channels=(), pace: Pace | None = None) -> list[int]:
    """Claim up to ``limit`` due deliveries (queued and due, or with a lease run out) for ``owner``.

    One statement, committed at once. ``channel``/``exclude_channels`` narrow the claim; ``pace``
    caps it to what that channel may still send in its window.
    """
    owner = owner or worker_id()
    now = now or clock.utcnow()
    if lease_seconds is None:
        lease_seconds = current_app.config.get("DELIVERY_LEASE_SECONDS", LEASE_SECONDS)
    db.session.commit()  # the claim is its own short transaction
    conditions = [_due_filter(now)]
    if channel is not None:
        conditions.append(Delivery.channel == channel)
    if exclude_channels:
        conditions.append(Delivery.channel.not_in(list(exclude_channels)))
    size = limit
    if pace is not None:
        take_turn(pace.channel)
        remaining = pace.remaining(now)
        size = case((remaining > limit, limit), else_=remaining)
    pick = select(Delivery.id).where(*conditions).order_by(Delivery.next_attempt_at, Delivery.id).limit(size)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claimed = db.session.execute(
        update(Delivery).where(Delivery.id.in_(pick))
        .values(status="sending", lease_until=now + timedelta(seconds=lease_seconds), claimed_by=owner,
                claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id).execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(claimed)


@dataclass(frozen=True)
class PassSettings:
    """The settings a pass needs, read once per pass rather than once per row."""

    org_name: str
    quiet: QuietWindow | None
    ladder: tuple[int, ...]

    @classmethod
    def read(cls) -> PassSettings:
        row = get_settings()
        return cls(org_name=row.org_name, quiet=parse_quiet_hours(row.quiet_hours, row.timezone),
                   ladder=tuple(ladder_from(row.renotify_hours)))


def render_outgoing(delivery: Delivery, settings=None) -> Outgoing:
    """The exact text for one delivery, rendered at send time from the encrypted message.

    A notice (and renotice, and the link after a call) holds the organisation's name, the client's
    first name and the link — nothing of the content, which is not even decrypted for it.
    """
    message = delivery.message
    contact = message.contact
    org_name = (settings or get_settings()).org_name
    subject = speak = None
    if delivery.kind in NOTICE_KINDS:
        if delivery.channel == "voice":
            text = speak = voice_notice_text(org_name, contact.first_name)
        else:
            notice_source = message.template.notification_text if message.template else None
            text = render_notice(org_name, contact.first_name, link_for(message), notice_source)
            subject = f"A secure message from {org_name}" if delivery.channel == "email" else None
    elif delivery.kind == "code":
        # The code's text holds the organisation and the code only: no link, no content.
        subject, text = render_code_delivery(delivery, org_name)
    else:
        subject, text = message_content(message)
        text = text or ""
    html = html_from_text(text, subject) if delivery.channel == "email" else None
    if delivery.channel == "voice" and speak is None:
        speak = text
    return Outgoing(channel=delivery.channel, to=delivery.to_address, text=text, subject=subject, html=html,
                    idempotency_key=delivery.idempotency_key, message_public_id=message.public_id,
                    delivery_id=delivery.id, speak=speak)


@dataclass
class PassResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    cancelled: int = 0
    released: int = 0
    errors: list = field(default_factory=list)


_DELIVERY = Delivery.__table__
_MESSAGE = Message.__table__
_EVENT = MessageEvent.__table__
# The common outcome, "sent", is written with three executemany statements per commit instead of
# through the ORM's unit of work, which cost more than everything else in a pass put together.
_MARK_SENT = update(_DELIVERY).where(_DELIVERY.c.id == bindparam("b_id")).values(
    status="sent", sent_at=bindparam("b_at"), provider_id=bindparam("b_provider_id"), lease_until=None,
    last_error=None,
    # A sent code's plain text has no further use: drop it with the commit that records the send.
    payload_ciphertext=case((_DELIVERY.c.kind == "code", None), else_=_DELIVERY.c.payload_ciphertext))
_MESSAGE_SENT = update(_MESSAGE).where(_MESSAGE.c.id == bindparam("b_id")).values(
    status=func.coalesce(bindparam("b_status", type_=String), _MESSAGE.c.status),
    notices_sent=_MESSAGE.c.notices_sent + bindparam("b_notices", type_=Integer))


@dataclass
class _SentBuffer:
    """Rows sent since the last commit, written in bulk by ``flush``."""

    deliveries: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def add(self, delivery: Delivery, provider_id: str | None, now: datetime) -> None:
        message = delivery.message
        self.deliveries.append({"b_id": delivery.id, "b_at": now, "b_provider_id": provider_id})
        follows = delivery.kind in PRIMARY_KINDS and message.status not in ("revoked", "cancelled", "suppressed")
        notices = 1 if delivery.kind == "notice" else 0
        if follows or notices:
            self.messages.append({"b_id": message.id, "b_status": "sent" if follows else None, "b_notices": notices})
        self.events.append({"message_id": message.id, "kind": "sent", "at": now, "ip_hash": None,
                            "detail": {"channel": delivery.channel, "delivery": delivery.kind}})

    def flush(self) -> None:
        if self.deliveries:
            db.session.execute(_MARK_SENT, self.deliveries)
        if self.messages:
            db.session.execute(_MESSAGE_SENT, self.messages)
        if self.events:
            db.session.execute(insert(_EVENT), self.events)
        self.deliveries, self.messages, self.events = [], [], []


@dataclass
class _Pass:
    owner: str
    now: datetime
    settings: PassSettings
    max_attempts: int
    result: PassResult
    sent: _SentBuffer = field(default_factory=_SentBuffer)

    def commit(self) -> None:
        self.sent.flush()
        db.session.commit()


# --- outcomes of one row -------------------------------------------------------------------------

def _record_sent(delivery: Delivery, provider_id: str | None, run: _Pass) -> None:
    if delivery.kind != "renotice":
        run.sent.add(delivery, provider_id or delivery.provider_id, run.now)
        run.result.sent += 1
        return
    # A renotice decides the unread flag from its siblings' statuses: the ORM keeps those in step.
    message = delivery.message
    delivery.status = "sent"
    delivery.sent_at = run.now
    delivery.provider_id = provider_id or delivery.provider_id
    delivery.lease_until = None
    delivery.last_error = None
    message.notices_sent += 1
    record_event(message, "renotified", channel=delivery.channel)
    after_renotice_sent(message, list(run.settings.ladder), run.now)
    run.result.sent += 1


def _retry_or_fail(delivery: Delivery, exc: TransportError, run: _Pass) -> None:
    message = delivery.message
    delivery.last_error = str(exc)[:2000]
    delivery.lease_until = None
    if exc.code in PROVIDER_OPT_OUT_CODES:
        mark_opted_out(message.contact, source=f"provider:{exc.code}")
    if exc.retryable and delivery.attempts < run.max_attempts:
        delivery.status = "queued"
        delivery.next_attempt_at = run.now + timedelta(seconds=backoff_seconds(delivery.attempts))
        if delivery.kind in PRIMARY_KINDS and message.status == "scheduled":
            message.status = "queued"  # its time has come; it is being tried
        run.result.retried += 1
        return
    delivery.status = "failed"
    sync_message_status(delivery)
    record_event(message, "failed", channel=delivery.channel, delivery=delivery.kind, code=exc.code,
                 error=str(exc)[:500])
    run.result.failed += 1


def _suppress(delivery: Delivery, reason: str, run: _Pass) -> None:
    message = delivery.message
    delivery.status = "suppressed"
    delivery.last_error = reason  # shown where the console shows a delivery's outcome
    delivery.lease_until = None
    if delivery.kind in PRIMARY_KINDS and message.status not in ("revoked", "cancelled"):
        message.status = "suppressed"
        message.suppressed_reason = reason
    record_event(message, "suppressed", reason=reason, delivery=delivery.kind)
    run.result.suppressed += 1


def _cancel(delivery: Delivery, run: _Pass) -> None:
    delivery.status = "cancelled"
    delivery.lease_until = None
    run.result.cancelled += 1


def _defer(delivery: Delivery, until: datetime, run: _Pass) -> None:
    """Quiet hours: back to the queue until the window opens; the claim was not an attempt."""
    message = delivery.message
    delivery.status = "queued"
    delivery.next_attempt_at = until
    delivery.attempts = max(0, delivery.attempts - 1)
    delivery.lease_until = None
    if delivery.kind in PRIMARY_KINDS and message.status == "queued":
        message.status = "scheduled"  # visible (and cancellable) as scheduled until it goes
    record_event(message, "queued", reason="quiet hours", deferred_until=until.isoformat() + "Z",
                 delivery=delivery.kind)
    run.result.deferred += 1


def _ensure_link_sms(delivery: Delivery, run: _Pass) -> None:
    """A secure message by voice: the call only says one is waiting; the link goes by SMS."""
    message = delivery.message
    key = f"link:{message.public_id}"
    if message.contact.phone and not any(d.idempotency_key == key for d in message.deliveries):
        db.session.add(Delivery(message=message, kind="link", channel="sms", to_address=message.contact.phone,
                                idempotency_key=key, next_attempt_at=run.now))


def _link_dead(message: Message, now: datetime) -> bool:
    return message.expires_at is not None and message.expires_at <= now


def _process(delivery: Delivery, transport, run: _Pass) -> None:
    if delivery.status != "sending" or delivery.claimed_by != run.owner:
        return  # a status callback or an admin got there first
    message = delivery.message
    if delivery.provider_id:
        # The provider accepted this row before (a status callback told us): never send it again.
        _record_sent(delivery, delivery.provider_id, run)
        return
    if message.revoked_at is not None or message.status in ("revoked", "cancelled"):
        _cancel(delivery, run)
        return
    if delivery.kind == "renotice" and (message.viewed_at is not None or _link_dead(message, run.now)):
        _cancel(delivery, run)  # read meanwhile, or the link is dead: the ladder stops
        return
    reason = suppression_reason_for(delivery, message.contact)
    if reason:
        _suppress(delivery, reason, run)
        return
    if run.settings.quiet is not None and waits_for_quiet_hours(delivery, message):
        opens = run.settings.quiet.opens_at(run.now)
        if opens is not None:
            _defer(delivery, opens, run)
            return
    if delivery.kind == "notice" and delivery.channel == "voice" and message.mode == "secure":
        _ensure_link_sms(delivery, run)
    try:
        outgoing = render_outgoing(delivery, run.settings)
        sent = transport.send(outgoing)
    except TransportError as exc:
        _retry_or_fail(delivery, exc, run)
        return
    _record_sent(delivery, sent.provider_id, run)


# --- the pass ------------------------------------------------------------------------------------

def _load(ids: list[int]) -> list[Delivery]:
    return list(db.session.execute(
        select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)
        .options(joinedload(Delivery.message).joinedload(Message.contact),
                 joinedload(Delivery.message).joinedload(Message.template),
                 joinedload(Delivery.message).joinedload(Message.situation))).unique().scalars())


def release(ids: list[int], owner: str) -> int:
    """Give unsent claimed rows back to the queue at once (the claim did not count as an attempt)."""
    if not ids:
        return 0
    released = db.session.execute(
        update(Delivery).where(Delivery.id.in_(ids), Delivery.claimed_by == owner, Delivery.status == "sending")
        .values(status="queued", lease_until=None, attempts=Delivery.attempts - 1, next_attempt_at=clock.utcnow())
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return released


def _after_crash(delivery_id: int, exc: Exception, run: _Pass, unsent: list[int]) -> None:
    """An unexpected error (a bug, the database): the row that raised retries with backoff like a
    failed send; the rest of the batch goes back to the queue."""
    db.session.rollback()
    run.sent = _SentBuffer()  # rolled back with the rest
    current_app.logger.exception("delivery %s crashed the pass", delivery_id)
    run.result.errors.append(f"delivery {delivery_id}: {exc.__class__.__name__}: {exc}")
    try:
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is not None and delivery.status == "sending" and delivery.claimed_by == run.owner:
            _retry_or_fail(delivery, TransportError(f"internal error: {exc.__class__.__name__}: {exc}"), run)
            db.session.commit()
        run.result.released += release([i for i in unsent if i != delivery_id], run.owner)
    except Exception:  # noqa: BLE001 - the database itself may be gone; the leases will expire
        db.session.rollback()
        current_app.logger.exception("could not record the crash of delivery %s", delivery_id)


def _run_batch(ids: list[int], run: _Pass, lease_seconds: float) -> None:
    started = time.monotonic()
    rows = _load(ids)
    uncommitted: list[int] = []
    for index, delivery in enumerate(rows):
        delivery_id = delivery.id
        try:
            transport = transport_for(delivery.channel)
            if time.monotonic() - started + transport.max_send_seconds > lease_seconds * LEASE_SAFETY:
                # The lease could run out mid-send and another worker reclaim the row: stop here.
                run.commit()
                run.result.released += release([d.id for d in rows[index:]], run.owner)
                if index == 0:
                    current_app.logger.error(
                        "DELIVERY_LEASE_SECONDS=%s is too short for the %s transport (a send may take %ss): "
                        "nothing can be sent", lease_seconds, delivery.channel, transport.max_send_seconds)
                return
            _process(delivery, transport, run)
            uncommitted.append(delivery_id)
            if not getattr(transport, "transactional", False):
                run.commit()  # record a real provider's acceptance at once
                uncommitted.clear()
        except Exception as exc:  # noqa: BLE001 - one bad row must not stall the queue
            _after_crash(delivery_id, exc, run, uncommitted + [d.id for d in rows[index:]])
            return
    try:
        run.commit()
    except Exception as exc:  # noqa: BLE001 - the batch's outcomes could not be stored: give the rows back
        _after_crash(rows[-1].id, exc, run, uncommitted)


def dispatch_once(limit: int | None = None, owner: str | None = None, now: datetime | None = None) -> PassResult:
    """One pass: claim what is due (paced per transport) and send it. Safe to run from several
    processes at once. ``now`` lets tests move the clock."""
    config = current_app.config
    limit = limit or int(config.get("DELIVERY_BATCH_SIZE", 200))
    lease_seconds = float(config.get("DELIVERY_LEASE_SECONDS", LEASE_SECONDS))
    run = _Pass(owner=owner or f"{worker_id()}:{secrets.token_hex(3)}", now=now or clock.utcnow(),
                settings=PassSettings.read(), max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS", 8)),
                result=PassResult())
    paces = paces_from_config(config)
    claim = dict(limit=limit, owner=run.owner, lease_seconds=lease_seconds, now=run.now)
    ids = claim_due_deliveries(exclude_channels=tuple(paces), **claim)
    for channel, pace in paces.items():
        ids += claim_due_deliveries(channel=channel, pace=pace, **claim)
    run.result.claimed = len(ids)
    if ids:
        _run_batch(sorted(ids), run, lease_seconds)
    return run.result


def dispatch_until_idle(max_seconds: float, limit: int | None = None) -> PassResult:
    """Passes back to back while full batches keep coming (a backlog), for at most ``max_seconds``."""
    total = PassResult()
    deadline = time.monotonic() + max_seconds
    batch = limit or int(current_app.config.get("DELIVERY_BATCH_SIZE", 200))
    while True:
        result = dispatch_once(limit=batch)
        for name in ("claimed", "sent", "retried", "failed", "suppressed", "deferred", "cancelled", "released"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.errors += result.errors
        if result.claimed < batch or result.errors or result.released or time.monotonic() >= deadline:
            return total


def send_one(delivery_id: int, owner: str, result: PassResult) -> None:
    """Send one row this owner has claimed (kept for callers of the first engine)."""
    run = _Pass(owner=owner, now=clock.utcnow(), settings=PassSettings.read(),
                max_attempts=int(current_app.config.get("DELIVERY_MAX_ATTEMPTS", 8)), result=result)
    _run_batch([delivery_id], run, float(current_app.config.get("DELIVERY_LEASE_SECONDS", LEASE_SECONDS)))


def retry_now(delivery: Delivery, actor) -> Delivery:
    """An admin's "retry now" on a failed delivery: queue it again at once, with fresh attempts."""
    from messaging.audit import audit
    from messaging.errors import Conflict

    if delivery.status != "failed":
        raise Conflict("Only a failed delivery can be retried.", code="not_failed")
    if delivery.provider_id:
        # The provider took it and later reported failure: this retry is a new send, under a new key.
        delivery.provider_id = None
        delivery.idempotency_key = secrets.token_hex(16)
    delivery.status = "queued"
    delivery.attempts = 0
    delivery.next_attempt_at = clock.utcnow()
    delivery.lease_until = None
    if delivery.kind in PRIMARY_KINDS and delivery.message.status == "failed":
        delivery.message.status = "queued"
    record_event(delivery.message, "queued", retry=True)
    audit(actor, "delivery.retry", "delivery", delivery.id, previous_error=delivery.last_error)
    return delivery


__all__ = ["claim_due_deliveries", "dispatch_once", "dispatch_until_idle", "render_outgoing", "backoff_seconds",
           "retry_now", "release", "send_one", "PassResult", "client_facing_text"]
