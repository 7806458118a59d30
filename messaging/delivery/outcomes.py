"""What becomes of a claimed delivery: sent, retried with backoff, failed, suppressed, cancelled or
deferred; each outcome with its message status and event. Also an admin's "retry now".

The states and their order are described in ``engine``. A pass's outcomes are collected in a
``PassRun`` and written by its ``commit``.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, bindparam, case, func, insert, update

from messaging import clock
from messaging.audit import audit, redacted
from messaging.db import db
from messaging.delivery.provider_status import PRIMARY_KINDS, sync_message_status
from messaging.delivery.quiet_hours import QuietHours
from messaging.delivery.renotify import after_renotice_sent, ladder_from
from messaging.delivery.transports import TransportError
from messaging.errors import Conflict
from messaging.events import record_event
from messaging.models import Delivery, Message, MessageEvent
from messaging.policy.optout import PROVIDER_ACTOR, PROVIDER_OPT_OUT_CODES, mark_opted_out
from messaging.settings import get_settings
from messaging.webhooks import emit


def backoff_seconds(attempt: int, base: float = 30.0, cap: float = 3600.0) -> float:
    """Delay before retry number ``attempt``: about 30 s, then doubling, capped at an hour.

    Jittered within the upper half of the step so retries of a burst spread out but never come
    sooner than half the step.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class PassSettings:
    """The settings a pass needs, read once per pass rather than once per row."""

    org_name: str
    quiet: QuietHours | None  # read at each contact's clock: ``quiet.opens_at(contact.timezone, now)``
    ladder: tuple[int, ...]
    notice_text_en: str = ""  # the organisation's own notice per language (empty: the built-in text)
    notice_text_es: str = ""

    @classmethod
    def read(cls) -> PassSettings:
        """The current settings, parsed."""
        row = get_settings()
        return cls(org_name=row.org_name, quiet=QuietHours.from_settings(row.quiet_hours, row.timezone),
                   ladder=tuple(ladder_from(row.renotify_hours)),
                   notice_text_en=row.notice_text_en or "", notice_text_es=row.notice_text_es or "")


@dataclass
class PassResult:
    """What one pass (or several added up) did, row by row."""

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
        if follows:
            emit("message.sent", message_id=message.public_id, contact_id=message.contact_id, status="sent",
                 channel=delivery.channel, mode=message.mode, delivery=delivery.kind)
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
class PassRun:
    """One pass under way: its owner and clock, the settings it read once, its tally, the unwritten sends."""

    owner: str
    now: datetime
    settings: PassSettings
    max_attempts: int
    result: PassResult
    sent: _SentBuffer = field(default_factory=_SentBuffer)
    # Contact id → consent map, read once for the batch (``people.consent.states_for``).
    consent: dict = field(default_factory=dict)

    def commit(self) -> None:
        """Write the buffered sends and commit every outcome so far."""
        self.sent.flush()
        db.session.commit()

    def forget_unwritten(self) -> None:
        """Drop the buffered sends after a rollback undid them."""
        self.sent = _SentBuffer()


def record_sent(delivery: Delivery, provider_id: str | None, run: PassRun) -> None:
    """The provider accepted the row: mark it sent (a renotice also moves the ladder on)."""
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


def retry_or_fail(delivery: Delivery, exc: TransportError, run: PassRun) -> None:
    """A send that did not go through: queue it again after a backoff, or fail it once retries are spent."""
    message = delivery.message
    delivery.last_error = str(exc)[:2000]
    delivery.lease_until = None
    if exc.code in PROVIDER_OPT_OUT_CODES:
        mark_opted_out(message.contact, source="provider", actor=PROVIDER_ACTOR, note=f"Twilio error {exc.code}")
        run.consent.pop(message.contact_id, None)  # the batch's later rows read the ledger again
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
    if delivery.kind in PRIMARY_KINDS:
        emit("message.failed", message_id=message.public_id, contact_id=message.contact_id, status=message.status,
             channel=delivery.channel, mode=message.mode, delivery=delivery.kind, code=exc.code)
    run.result.failed += 1


def suppress(delivery: Delivery, reason: str, run: PassRun) -> None:
    """Not sent, and never will be (the contact opted out, or consent is missing): say why."""
    message = delivery.message
    delivery.status = "suppressed"
    delivery.last_error = reason  # shown where the console shows a delivery's outcome
    delivery.lease_until = None
    if delivery.kind in PRIMARY_KINDS and message.status not in ("revoked", "cancelled"):
        message.status = "suppressed"
        message.suppressed_reason = reason
    record_event(message, "suppressed", reason=reason, delivery=delivery.kind)
    run.result.suppressed += 1


def cancel(delivery: Delivery, run: PassRun) -> None:
    """Not sent because it became pointless (revoked, cancelled, or a renotice after reading)."""
    delivery.status = "cancelled"
    delivery.lease_until = None
    run.result.cancelled += 1


def defer(delivery: Delivery, until: datetime, run: PassRun) -> None:
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


def retry_now(delivery: Delivery, actor) -> Delivery:
    """An admin's "retry now" on a failed delivery: queue it again at once, with fresh attempts."""
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
    audit(actor, "delivery.retry", "delivery", delivery.id, previous_error=redacted(delivery.last_error))
    return delivery
