"""The engagement funnel of a set of messages: sent → delivered → opened → verified → viewed → replied.

Each stage counts the distinct messages with at least one event of its kind (``opened`` is
``link_opened``), so a stage is what happened, not what must have happened: ``delivered`` needs a
provider's receipt (SMS), ``verified`` happens only to messages that asked the reader to prove who
they are. The median time from sent to viewed runs from a message's first ``sent`` event to its
first ``viewed`` event, over the messages that have both. Counting and the median run in the
database (GROUP BY, then the middle row by ORDER BY/OFFSET); nothing loops over the messages.

Staff see the figures of the messages they created: every function takes ``owner_id`` (None for
everything, as admins see it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, select

from messaging.db import db
from messaging.insight.sql import median_of, seconds_between
from messaging.models import Message, MessageEvent

# (key, event kind, label)
STAGES = (("sent", "sent", "Sent"), ("delivered", "delivered", "Delivered"),
          ("opened", "link_opened", "Opened the link"), ("verified", "verified", "Verified who they are"),
          ("viewed", "viewed", "Viewed the content"), ("replied", "replied", "Replied"))


@dataclass(frozen=True)
class Stage:
    """One stage of a funnel: how many messages reached it, and what share of the sent ones that is."""

    key: str
    label: str
    count: int
    percent: int | None  # of the sent messages; None when nothing was sent


@dataclass(frozen=True)
class Funnel:
    """A funnel: the messages it covers, the count of each stage and the median seconds from sent to viewed."""

    messages: int
    counts: dict[str, int] = field(default_factory=dict)
    median_seconds_to_view: float | None = None

    @property
    def stages(self) -> list[Stage]:
        """The stages in order, each with its share of the sent messages."""
        sent = self.counts.get("sent", 0)
        return [Stage(key, label, self.counts.get(key, 0),
                      round(self.counts.get(key, 0) * 100 / sent) if sent else None)
                for key, _kind, label in STAGES]

    @property
    def is_empty(self) -> bool:
        """True when no message is counted at all."""
        return self.messages == 0


def owned(condition: ColumnElement[bool], owner_id: int | None) -> ColumnElement[bool]:
    """``condition`` narrowed to the messages ``owner_id`` created (unchanged for None)."""
    return condition if owner_id is None else and_(condition, Message.created_by_id == owner_id)


def funnel(condition: ColumnElement[bool], owner_id: int | None = None) -> Funnel:
    """The funnel of the outbound messages matching ``condition`` (and ``owner_id``'s, when given)."""
    where = owned(and_(condition, Message.direction == "out"), owner_id)
    total = db.session.execute(select(func.count(Message.id)).where(where)).scalar_one()
    if not total:
        return Funnel(messages=0, counts={key: 0 for key, _kind, _label in STAGES})
    kinds = {kind: key for key, kind, _label in STAGES}
    by_kind = dict(db.session.execute(
        select(MessageEvent.kind, func.count(func.distinct(MessageEvent.message_id)))
        .join(Message, Message.id == MessageEvent.message_id)
        .where(where, MessageEvent.kind.in_(tuple(kinds)))
        .group_by(MessageEvent.kind)).all())
    counts = {key: by_kind.get(kind, 0) for key, kind, _label in STAGES}
    return Funnel(messages=total, counts=counts, median_seconds_to_view=median_seconds_to_view(where))


def median_seconds_to_view(where: ColumnElement[bool]) -> float | None:
    """The median of (first ``viewed`` − first ``sent``) in seconds over the matching messages that have both."""
    firsts = (select(MessageEvent.message_id,
                     func.min(case((MessageEvent.kind == "sent", MessageEvent.at))).label("sent_at"),
                     func.min(case((MessageEvent.kind == "viewed", MessageEvent.at))).label("viewed_at"))
              .join(Message, Message.id == MessageEvent.message_id)
              .where(where, MessageEvent.kind.in_(("sent", "viewed")))
              .group_by(MessageEvent.message_id).subquery())
    return median_of(select(seconds_between(firsts.c.viewed_at, firsts.c.sent_at).label("seconds"))
                     .where(firsts.c.sent_at.is_not(None), firsts.c.viewed_at.is_not(None)))


def template_funnel(template_id: int, owner_id: int | None = None) -> Funnel:
    """Every message made from one template (one-offs, broadcasts and campaign steps alike)."""
    return funnel(Message.template_id == template_id, owner_id)


def broadcast_funnel(broadcast_id: int, owner_id: int | None = None) -> Funnel:
    """The messages of one broadcast."""
    return funnel(Message.broadcast_id == broadcast_id, owner_id)


def step_funnel(step_id: int, owner_id: int | None = None) -> Funnel:
    """The messages of one campaign step."""
    return funnel(Message.campaign_step_id == step_id, owner_id)


def secure_funnel(since: datetime, owner_id: int | None = None) -> Funnel:
    """The secure messages created since ``since``: the dashboard's funnel."""
    return funnel(and_(Message.mode == "secure", Message.created_at >= since), owner_id)


def describe_seconds(seconds: float | None) -> str:
    """A duration as people read it: ``42 s``, ``17 min``, ``3 h 5 min``, ``2 d 4 h``; ``—`` for None."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
