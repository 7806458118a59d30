"""The frequency cap: how many broadcast and campaign messages one contact may get in a rolling window.

The setting ``frequency_cap`` (``1/day,3/week``; a day is the last 24 hours, a week the last 7 days)
counts the contact's bulk messages that are queued or went out — suppressed and cancelled ones
were never sent. One-offs and replies are never capped, nor counted.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from messaging.db import db
from messaging.models import Message
from messaging.settings import CAP_WINDOWS

NOT_SENT = ("suppressed", "cancelled")
CHUNK = 500


def recent_bulk_counts(contact_ids, now: datetime) -> dict[int, dict[str, int]]:
    """Per contact, ``{"day": n, "week": n}`` bulk messages in the last 24 hours and 7 days."""
    ids = sorted({int(i) for i in contact_ids})
    counts = {cid: dict.fromkeys(CAP_WINDOWS, 0) for cid in ids}
    day_start = now - timedelta(days=CAP_WINDOWS["day"])
    week_start = now - timedelta(days=CAP_WINDOWS["week"])
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = db.session.execute(
            select(Message.contact_id, func.count(),
                   func.sum(case((Message.created_at > day_start, 1), else_=0)))
            .where(Message.contact_id.in_(chunk), Message.created_at > week_start,
                   (Message.broadcast_id.is_not(None)) | (Message.campaign_step_id.is_not(None)),
                   Message.status.not_in(NOT_SENT))
            .group_by(Message.contact_id))
        for contact_id, week, day in rows:
            counts[contact_id] = {"day": int(day or 0), "week": int(week)}
    return counts


def over_cap(counts: dict[str, int], limits: list[tuple[int, str]], extra: int = 0) -> bool:
    """Whether one more message (after ``extra`` already planned in this pass) would break a limit."""
    return any(counts.get(window, 0) + extra + 1 > limit for limit, window in limits)
