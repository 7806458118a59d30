"""When a message's content falls due for destruction: pure functions of the message's facts, no database.

The rule (``retention_days`` = N; 0 keeps content for ever):

- a secure message: N days after its link expires (``expires_at``; one that never had an expiry,
  stored before links had lifetimes, counts from ``created_at`` plus the organisation's link lifetime);
- a standard message: N days after it was first sent (its first delivery's ``sent_at``; one never
  sent — suppressed, cancelled, failed — from ``created_at``);
- an inbound text, and anything else inbound that is not a reply to a secure message: N days after
  it arrived (``created_at``);
- a client's reply to a secure message goes with that message; one written after its message fell
  due goes N days after it was written (whichever is later);
- never while the message is not sent yet (``queued``, ``scheduled``) or a delivery of it is still
  pending: the sending would render what is gone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# A message in one of these states has not reached the client yet: its content is still needed.
NOT_YET_SENT = ("queued", "scheduled")
# Deliveries that may still render the message's content.
PENDING_DELIVERIES = ("queued", "sending", "paused")


@dataclass(frozen=True)
class RetentionFacts:
    """What the rule reads of one message (``parent``: the secure message a reply answers)."""

    direction: str
    mode: str
    status: str
    created_at: datetime
    expires_at: datetime | None = None
    first_sent_at: datetime | None = None
    pending_deliveries: int = 0
    parent: RetentionFacts | None = None


def _start(facts: RetentionFacts, link_ttl: timedelta) -> datetime:
    """When the retention period starts running."""
    if facts.direction == "out" and facts.mode == "secure":
        return facts.expires_at if facts.expires_at is not None else facts.created_at + link_ttl
    if facts.direction == "out":
        return facts.first_sent_at or facts.created_at
    return facts.created_at


def content_due_at(facts: RetentionFacts, retention_days: int, link_ttl: timedelta) -> datetime | None:
    """When the content falls due, or None when it is kept (``retention_days`` 0, not sent yet, pending)."""
    if retention_days <= 0 or facts.status in NOT_YET_SENT or facts.pending_deliveries:
        return None
    keep = timedelta(days=retention_days)
    own = _start(facts, link_ttl) + keep
    if facts.direction == "in" and facts.parent is not None and facts.parent.mode == "secure":
        parent_due = content_due_at(facts.parent, retention_days, link_ttl)
        if parent_due is None:
            return None
        return max(parent_due, own)
    return own


def is_due(facts: RetentionFacts, now: datetime, retention_days: int, link_ttl: timedelta) -> bool:
    """True when the content's retention period has ended at ``now``."""
    due = content_due_at(facts, retention_days, link_ttl)
    return due is not None and due <= now


def earliest_start(now: datetime, retention_days: int) -> datetime:
    """Every due message was created at or before this moment (each rule starts at or after ``created_at``)."""
    return now - timedelta(days=retention_days)
