"""The retention pass: find the messages whose content is due (``policy``) and destroy it (``shredding``).

Bounded memory: messages are read in batches by id (keyset, never OFFSET), their content columns
left unloaded; each batch is its own transaction. Safe with two passes at once: each message is
claimed by ``destroy_message``'s conditional UPDATE, so a message another pass destroyed first is
skipped, never destroyed or counted twice. A dry run reads the same batches and changes nothing.
A real pass ends with one audit entry ``retention.run`` holding its counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import defer

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Delivery, Message
from messaging.retention.policy import NOT_YET_SENT, PENDING_DELIVERIES, RetentionFacts, earliest_start, is_due
from messaging.retention.shredding import destroy_message
from messaging.settings import get_settings

BATCH_SIZE = 200
KINDS = ("secure", "standard", "inbound", "replies")


@dataclass
class RetentionReport:
    """What a retention pass destroyed (or, dry, would destroy), by kind of message."""

    dry_run: bool = False
    retention_days: int = 0
    now: datetime | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: int = 0  # due, but another pass (or an erasure) destroyed it first
    batches: int = 0

    @property
    def messages(self) -> int:
        """How many messages lost (or would lose) their content."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """One line for the CLI."""
        if self.retention_days <= 0:
            return "Retention is off (retention_days is 0): content is kept for ever; nothing was destroyed."
        verb = "Would destroy" if self.dry_run else "Destroyed"
        kinds = ", ".join(f"{self.counts[kind]:,} {kind}" for kind in KINDS)
        line = (f"{verb} the content of {self.messages:,} messages ({kinds}) "
                f"kept longer than {self.retention_days} days.")
        if self.skipped:
            line += f" {self.skipped:,} already destroyed by another pass."
        if self.dry_run:
            line += " Dry run: nothing was changed."
        return line


def _candidates(after_id: int, start: datetime, limit: int) -> list[Message]:
    """The next batch that may be due: a superset the policy narrows (every rule starts at or after creation)."""
    query = (select(Message)
             .where(Message.id > after_id, Message.content_destroyed_at.is_(None),
                    Message.status.not_in(NOT_YET_SENT), Message.created_at <= start,
                    # A secure message's period starts at its link's expiry: most live links drop out here.
                    or_(Message.direction != "out", Message.mode != "secure", Message.expires_at.is_(None),
                        Message.expires_at <= start))
             .options(defer(Message.data_key), defer(Message.subject_ciphertext), defer(Message.body_ciphertext))
             .order_by(Message.id).limit(limit))
    return list(db.session.scalars(query))


def _delivery_stats(message_ids: set[int]) -> dict[int, tuple[datetime | None, int]]:
    rows = db.session.execute(
        select(Delivery.message_id, func.min(Delivery.sent_at),
               func.count(case((Delivery.status.in_(PENDING_DELIVERIES), 1))))
        .where(Delivery.message_id.in_(message_ids)).group_by(Delivery.message_id)).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _facts(messages: list[Message]) -> dict[int, RetentionFacts]:
    """The policy's facts of one batch, in three queries whatever its size."""
    parent_ids = {m.reply_to_id for m in messages if m.reply_to_id is not None}
    parents = {row.id: row for row in db.session.execute(
        select(Message.id, Message.direction, Message.mode, Message.status, Message.created_at, Message.expires_at)
        .where(Message.id.in_(parent_ids)))} if parent_ids else {}
    stats = _delivery_stats({m.id for m in messages} | parent_ids)

    def facts(row, parent=None) -> RetentionFacts:
        first_sent, pending = stats.get(row.id, (None, 0))
        return RetentionFacts(direction=row.direction, mode=row.mode, status=row.status, created_at=row.created_at,
                              expires_at=row.expires_at, first_sent_at=first_sent, pending_deliveries=pending,
                              parent=parent)

    return {m.id: facts(m, facts(parents[m.reply_to_id]) if m.reply_to_id in parents else None) for m in messages}


def _kind(facts: RetentionFacts) -> str:
    if facts.direction == "in":
        return "replies" if facts.parent is not None and facts.parent.mode == "secure" else "inbound"
    return "secure" if facts.mode == "secure" else "standard"


def run_retention(actor: Actor, dry_run: bool = False, now: datetime | None = None,
                  batch_size: int = BATCH_SIZE) -> RetentionReport:
    """Destroy (or with ``dry_run`` only count) the content whose retention period has ended at ``now``.

    Commits each batch and, for a real pass, the closing ``retention.run`` audit entry.
    """
    now = now or clock.utcnow()
    settings = get_settings()
    report = RetentionReport(dry_run=dry_run, retention_days=settings.retention_days, now=now)
    if settings.retention_days <= 0:
        return report
    link_ttl = timedelta(hours=settings.link_ttl_hours)
    start = earliest_start(now, settings.retention_days)
    after_id = 0
    while batch := _candidates(after_id, start, batch_size):
        after_id = batch[-1].id
        facts = _facts(batch)
        for message in batch:
            if not is_due(facts[message.id], now, settings.retention_days, link_ttl):
                continue
            if dry_run or destroy_message(message, "retention", now):
                report.counts[_kind(facts[message.id])] += 1
            else:
                report.skipped += 1
        report.batches += 1
        if not dry_run:
            db.session.commit()
    if not dry_run:
        audit(actor, "retention.run", "retention", None, retention_days=settings.retention_days,
              destroyed=report.messages, skipped=report.skipped, **report.counts)
        db.session.commit()
    return report
