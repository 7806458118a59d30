"""Claiming due deliveries with a lease, and giving unsent claims back.

A claim is one ``UPDATE … RETURNING`` over the due rows, committed at once: on PostgreSQL the
rows are picked ``FOR UPDATE SKIP LOCKED``, on SQLite the single writer does the same, so two
workers never hold the same row. Why that makes sends exactly-once is argued in ``engine``.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update

from messaging import clock
from messaging.db import db
from messaging.delivery.pacing import Pace, take_turn
from messaging.models import Delivery


def worker_id() -> str:
    """This process as a claim's owner: host name and process id."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


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
        lease_seconds = current_app.config["DELIVERY_LEASE_SECONDS"]
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
