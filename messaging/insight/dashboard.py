"""The console home page's figures: messages per day by mode and channel, the secure funnel, failures
and suppressions by reason, the secure messages waiting to be read, and the latest replies.

Everything is counted by GROUP BY in the database over the last ``DAYS`` days (UTC days, as every
time in the console); Python only fills in the days that had nothing. Staff see the figures of the
messages they created (``owner_id``); admins pass None and see everything. A reply counts for staff
when it answers one of their messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased, joinedload

from messaging.db import db
from messaging.insight.funnel import Funnel, owned, secure_funnel
from messaging.insight.sql import day_of
from messaging.models import Message, MessageEvent

DAYS = 30
FOLLOW_UP_AFTER = timedelta(days=1)
LIST_LENGTH = 10


@dataclass(frozen=True)
class DailyCounts:
    """Outbound messages created per day: the days in order, the (mode, channel) series, the counts."""

    days: list[str]
    series: list[tuple[str, str]]
    counts: dict[tuple[str, str, str], int]

    def count(self, day: str, mode: str, channel: str) -> int:
        """Messages of one series on one day."""
        return self.counts.get((day, mode, channel), 0)

    def day_total(self, day: str) -> int:
        """Messages of every series on one day."""
        return sum(self.count(day, mode, channel) for mode, channel in self.series)

    @property
    def total(self) -> int:
        """Every message counted."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReasonCount:
    """How many messages ended one way (failed or suppressed) for one reason."""

    reason: str
    count: int


@dataclass(frozen=True)
class ListWithTotal:
    """The first few items of a list, and how many there are in all."""

    items: list
    total: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the home page shows, for one viewer."""

    since: datetime
    now: datetime
    per_day: DailyCounts
    funnel: Funnel
    failures: list[ReasonCount]
    suppressions: list[ReasonCount]
    follow_up: ListWithTotal
    replies: ListWithTotal

    @property
    def is_empty(self) -> bool:
        """True when there is nothing at all to show."""
        return not (self.per_day.total or self.follow_up.total or self.replies.total or self.failures
                    or self.suppressions)


def window_start(now: datetime, days: int = DAYS) -> datetime:
    """Midnight (UTC) of the first of the ``days`` days that end with today."""
    return datetime(now.year, now.month, now.day) - timedelta(days=days - 1)


def messages_per_day(since: datetime, now: datetime, owner_id: int | None = None) -> DailyCounts:
    """Outbound messages created from ``since`` to ``now``, per UTC day, mode and channel."""
    day = day_of(Message.created_at)
    rows = db.session.execute(
        select(day, Message.mode, Message.channel, func.count(Message.id))
        .where(owned(and_(Message.direction == "out", Message.created_at >= since, Message.created_at <= now),
                     owner_id))
        .group_by(day, Message.mode, Message.channel)).all()
    days, first = [], since.date()
    while first <= now.date():
        days.append(first.isoformat())
        first += timedelta(days=1)
    counts = {(d, mode, channel): n for d, mode, channel, n in rows}
    series = sorted({(mode, channel) for _d, mode, channel in counts})
    return DailyCounts(days=days, series=series, counts=counts)


def failures_by_reason(since: datetime, owner_id: int | None = None) -> list[ReasonCount]:
    """Messages that failed since ``since``, by channel and the provider's error code, most first."""
    code = MessageEvent.detail["code"].as_string()
    rows = db.session.execute(
        select(Message.channel, code, func.count(func.distinct(MessageEvent.message_id)))
        .join(Message, Message.id == MessageEvent.message_id)
        .where(owned(and_(MessageEvent.kind == "failed", MessageEvent.at >= since), owner_id))
        .group_by(Message.channel, code)).all()
    found = [ReasonCount(f"{channel}: {'error ' + value if value else 'no error code'}", n)
             for channel, value, n in rows]
    return sorted(found, key=lambda r: (-r.count, r.reason))


def suppressions_by_reason(since: datetime, owner_id: int | None = None) -> list[ReasonCount]:
    """Messages created since ``since`` that were not sent (status ``suppressed``), by the reason given."""
    rows = db.session.execute(
        select(Message.suppressed_reason, func.count(Message.id))
        .where(owned(and_(Message.status == "suppressed", Message.created_at >= since), owner_id))
        .group_by(Message.suppressed_reason)).all()
    return sorted((ReasonCount(reason or "no reason recorded", n) for reason, n in rows),
                  key=lambda r: (-r.count, r.reason))


def follow_up(now: datetime, owner_id: int | None = None, limit: int = LIST_LENGTH) -> ListWithTotal:
    """Secure messages sent more than a day ago and not viewed (link not revoked, content not destroyed),
    the longest-waiting first."""
    where = owned(and_(Message.direction == "out", Message.mode == "secure",
                       Message.status.in_(("sent", "delivered")), Message.viewed_at.is_(None),
                       Message.revoked_at.is_(None), Message.content_destroyed_at.is_(None),
                       Message.created_at < now - FOLLOW_UP_AFTER), owner_id)
    total = db.session.execute(select(func.count(Message.id)).where(where)).scalar_one()
    items = list(db.session.execute(
        select(Message).where(where).options(joinedload(Message.contact))
        .order_by(Message.created_at, Message.id).limit(limit)).scalars())
    return ListWithTotal(items=items, total=total)


def recent_replies(owner_id: int | None = None, limit: int = LIST_LENGTH,
                   since: datetime | None = None) -> ListWithTotal:
    """The latest inbound messages (replies on the viewer and texts), newest first; for staff, the replies
    to their messages. ``total`` counts those since ``since`` (all when None)."""
    original = aliased(Message)
    query = select(Message).where(Message.direction == "in")
    counting = select(func.count(Message.id)).where(Message.direction == "in")
    if owner_id is not None:
        query = query.join(original, original.id == Message.reply_to_id).where(original.created_by_id == owner_id)
        counting = counting.join(original, original.id == Message.reply_to_id) \
            .where(original.created_by_id == owner_id)
    if since is not None:
        counting = counting.where(Message.created_at >= since)
    items = list(db.session.execute(query.options(joinedload(Message.contact))
                                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)).scalars())
    return ListWithTotal(items=items, total=db.session.execute(counting).scalar_one())


def dashboard(now: datetime, owner_id: int | None = None, days: int = DAYS) -> Dashboard:
    """Every figure of the home page for one viewer (``owner_id`` for staff, None for admins)."""
    since = window_start(now, days)
    return Dashboard(since=since, now=now, per_day=messages_per_day(since, now, owner_id),
                     funnel=secure_funnel(since, owner_id), failures=failures_by_reason(since, owner_id),
                     suppressions=suppressions_by_reason(since, owner_id), follow_up=follow_up(now, owner_id),
                     replies=recent_replies(owner_id, since=since))
