"""Posting webhook deliveries: claimed with a lease, signed, retried with backoff, every attempt logged.

A claim is one conditional ``UPDATE … RETURNING`` over due rows (queued and due, or claimed with
a lease run out), committed before anything is posted, as the delivery engine claims messages:
on PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, on SQLite the single writer does
the same, so two dispatchers never hold one delivery within a lease. A dispatcher that dies
after posting but before recording leaves the lease to run out and the delivery is posted again:
delivery is at least once, and receivers de-duplicate on the event id. The outcome is written
only while the claim is still this dispatcher's.
"""
from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import or_, select, update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, SealedError
from messaging.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEvent
from messaging.security.crypto import InvalidToken
from messaging.webhooks.endpoints import endpoint_secret
from messaging.webhooks.signing import headers_for
from messaging.webhooks.urls import check_url

MAX_BATCH = 20
MAX_ERROR_LENGTH = 500


def worker_id() -> str:
    """This dispatcher as a claim's owner: host, process and thread (threads of one process race too)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


def backoff_seconds(attempt: int, base: float = 30.0, cap: float = 3600.0) -> float:
    """Delay before retry number ``attempt``: about 30 s, doubling, capped at an hour, jittered in the upper half."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


def _due(now: datetime):
    return or_((WebhookDelivery.status == "queued") & (WebhookDelivery.next_attempt_at <= now),
               (WebhookDelivery.status == "delivering") & (WebhookDelivery.lease_until < now))


def claim_due(limit: int = MAX_BATCH, owner: str | None = None, lease_seconds: float | None = None,
              now: datetime | None = None) -> list[int]:
    """Claim up to ``limit`` due deliveries for ``owner`` in one committed statement; their ids."""
    owner = owner or worker_id()
    now = now or clock.utcnow()
    if lease_seconds is None:
        lease_seconds = float(current_app.config["WEBHOOK_LEASE_SECONDS"])
    db.session.commit()  # the claim is its own short transaction
    pick = (select(WebhookDelivery.id).where(_due(now))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        # Locked and listed first: PostgreSQL may run a LIMIT … SKIP LOCKED subquery once per row of an
        # UPDATE, which would claim far more than ``limit`` and leave nothing to the other dispatchers.
        pick = list(db.session.execute(pick.with_for_update(skip_locked=True)).scalars())
        if not pick:
            db.session.commit()
            return []
    claimed = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id.in_(pick), _due(now))
        .values(status="delivering", lease_until=now + timedelta(seconds=lease_seconds), claimed_by=owner,
                attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id).execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(claimed)


def event_body(event: WebhookEvent) -> bytes:
    """The exact bytes posted (and signed): ``{"id", "type", "created_at", "data"}``."""
    document = {"id": event.public_id, "type": event.type,
                "created_at": event.created_at.isoformat(timespec="seconds") + "Z", "data": event.data or {}}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class DispatchResult:
    """What one or more passes did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class _Post:
    delivery_id: int
    url: str
    event_id: str
    body: bytes
    secret: str | None


def _prepare(delivery_id: int) -> _Post | None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint.deleted_at is not None:
        return None
    try:
        secret = endpoint_secret(delivery.endpoint)
    except InvalidToken:  # sealed under a master key since removed: logged as a failed attempt, not a crash
        secret = None
    return _Post(delivery_id=delivery.id, url=delivery.endpoint.url, event_id=delivery.event.public_id,
                 body=event_body(delivery.event), secret=secret)


def _send(post: _Post) -> tuple[int | None, str | None]:
    """POST it: (status code, None) when an answer came, (None, error) when none did or the URL is refused."""
    try:
        check_url(post.url)  # again: what the name resolves to may have changed since registration
    except SealedError as exc:
        return None, exc.message
    if post.secret is None:
        return None, "the endpoint's secret cannot be unsealed with the current ENCRYPTION_KEYS"
    headers = headers_for(post.secret, post.event_id, int(time.time()), post.body)
    try:
        # No redirects: following one would post to a host that was never checked. Streamed and closed
        # unread: only the status matters, and a receiver's body could be of any size.
        answer = requests.post(post.url, data=post.body, headers=headers, allow_redirects=False, stream=True,
                               timeout=float(current_app.config["WEBHOOK_TIMEOUT"]))
    except requests.RequestException as exc:
        return None, f"{exc.__class__.__name__}: {exc}"
    answer.close()
    return answer.status_code, None


def _record(post: _Post, owner: str, code: int | None, error: str | None, started: float,
            result: DispatchResult) -> None:
    now = clock.utcnow()
    mine = (WebhookDelivery.id == post.delivery_id) & (WebhookDelivery.claimed_by == owner) \
        & (WebhookDelivery.status == "delivering")
    if error is None and code is not None and not 200 <= code < 300:
        error = f"the endpoint answered HTTP {code}"
    db.session.add(WebhookAttempt(delivery_id=post.delivery_id, at=now, status_code=code,
                                  error=(error or None) and error[:MAX_ERROR_LENGTH],
                                  duration_ms=int((time.monotonic() - started) * 1000)))
    if error is None:
        values, tally = {"status": "delivered", "delivered_at": now, "last_error": None}, "delivered"
    else:
        attempts = db.session.execute(select(WebhookDelivery.attempts)
                                      .where(WebhookDelivery.id == post.delivery_id)).scalar_one()
        if attempts >= int(current_app.config["WEBHOOK_MAX_ATTEMPTS"]):
            values, tally = {"status": "failed", "last_error": error[:MAX_ERROR_LENGTH]}, "failed"
        else:
            values = {"status": "queued", "last_error": error[:MAX_ERROR_LENGTH],
                      "next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts))}
            tally = "retried"
    values.update(lease_until=None, last_status_code=code)
    changed = db.session.execute(update(WebhookDelivery).where(mine).values(**values)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if changed:
        setattr(result, tally, getattr(result, tally) + 1)


def _cancel(delivery_id: int, owner: str, result: DispatchResult) -> None:
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                     WebhookDelivery.claimed_by == owner,
                                                     WebhookDelivery.status == "delivering")
                       .values(status="cancelled", lease_until=None).execution_options(synchronize_session=False))
    db.session.commit()
    result.cancelled += 1


def dispatch_once(limit: int | None = None, owner: str | None = None,
                  result: DispatchResult | None = None) -> DispatchResult:
    """Claim one batch of due deliveries and post each (sequentially, each outcome committed)."""
    owner = owner or worker_id()
    result = result or DispatchResult()
    if limit is None:
        # Small enough that the last of a batch of time-outs is posted before the batch's lease runs out.
        config = current_app.config
        lease, timeout = float(config["WEBHOOK_LEASE_SECONDS"]), float(config["WEBHOOK_TIMEOUT"])
        limit = max(1, min(MAX_BATCH, int(lease // (timeout + 1))))
    claimed = claim_due(limit, owner)
    result.claimed += len(claimed)
    for delivery_id in claimed:
        post = _prepare(delivery_id)
        db.session.commit()  # no transaction stays open while the post waits on the network
        if post is None:
            _cancel(delivery_id, owner, result)
            continue
        started = time.monotonic()
        code, error = _send(post)
        _record(post, owner, code, error, started, result)
    return result


def dispatch_webhooks_until_idle(max_seconds: float = 30.0) -> int:
    """Post due webhook deliveries until none is due or the time is up; returns how many attempts were
    made (delivered, to be retried, or failed)."""
    deadline = time.monotonic() + max_seconds
    result = DispatchResult()
    owner = worker_id()
    while time.monotonic() < deadline:
        before = result.claimed
        dispatch_once(owner=owner, result=result)
        if result.claimed == before:
            break
    return result.delivered + result.retried + result.failed


def send_again(actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a finished delivery again at once with fresh attempts (same event id), audited; the caller commits."""
    if delivery.status in ("queued", "delivering"):
        raise Conflict("This delivery is already waiting to be posted.", code="already_queued")
    if delivery.endpoint.deleted_at is not None:
        raise Conflict("The endpoint was deleted: nothing is posted to it any more.", code="endpoint_deleted")
    previous = delivery.status
    delivery.status, delivery.attempts, delivery.lease_until, delivery.claimed_by = "queued", 0, None, None
    delivery.next_attempt_at = clock.utcnow()
    audit(actor, "webhook.send_again", "webhook_delivery", delivery.id, endpoint_id=delivery.endpoint_id,
          event=delivery.event.public_id, previous_status=previous)
    return delivery
