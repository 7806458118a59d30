"""The read log: per contact, every secure message — sent when, read or not, first and last view,
how many views, and which staff opened it in the console; and per message, its timeline of events.

Staff openings come from the audit trail: ``message.content_opened`` names the message,
``thread.read`` names the contact and covers every message that was in the thread when it was read
(created before the reading). Views are the client's ``viewed`` events. The counts are grouped in
the database, one page of messages at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.insight.funnel import owned
from messaging.models import AuditEntry, Message, MessageEvent
from messaging.paging import Page, page_number

PER_PAGE = 25
CSV_HEADER = ["message", "channel", "created", "sent", "status", "read", "first viewed", "views", "last viewed",
              "opened in the console by"]


@dataclass(frozen=True)
class ReadLogRow:
    """One secure message of a contact's read log."""

    message_id: int
    public_id: str
    channel: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    first_viewed_at: datetime | None
    last_viewed_at: datetime | None
    views: int
    opened_by: tuple[str, ...]

    @property
    def read(self) -> bool:
        """Whether the client has viewed the content at least once."""
        return self.first_viewed_at is not None


def _where(contact_id: int, owner_id: int | None):
    return owned((Message.contact_id == contact_id) & (Message.direction == "out") & (Message.mode == "secure"),
                 owner_id)


def _query(contact_id: int, owner_id: int | None):
    views = (select(MessageEvent.message_id,
                    func.min(case((MessageEvent.kind == "sent", MessageEvent.at))).label("sent_at"),
                    func.min(case((MessageEvent.kind == "viewed", MessageEvent.at))).label("first_view"),
                    func.max(case((MessageEvent.kind == "viewed", MessageEvent.at))).label("last_view"),
                    func.count(case((MessageEvent.kind == "viewed", 1))).label("views"))
             .join(Message, Message.id == MessageEvent.message_id)
             .where(_where(contact_id, owner_id), MessageEvent.kind.in_(("sent", "viewed")))
             .group_by(MessageEvent.message_id).subquery())
    return (select(Message.id, Message.public_id, Message.channel, Message.status, Message.created_at,
                   Message.viewed_at, views.c.sent_at, views.c.first_view, views.c.last_view, views.c.views)
            .outerjoin(views, views.c.message_id == Message.id)
            .where(_where(contact_id, owner_id))
            .order_by(Message.created_at.desc(), Message.id.desc()))


def _openers(contact_id: int, rows) -> dict[str, tuple[str, ...]]:
    """Public id → the staff who opened that message's content or read the thread after it was created."""
    public_ids = [row.public_id for row in rows]
    if not public_ids:
        return {}
    direct: dict[str, set[str]] = {}
    for target, actor in db.session.execute(
            select(AuditEntry.target_id, AuditEntry.actor)
            .where(AuditEntry.action == "message.content_opened", AuditEntry.target_type == "message",
                   AuditEntry.target_id.in_(public_ids))
            .group_by(AuditEntry.target_id, AuditEntry.actor)):
        direct.setdefault(target, set()).add(actor)
    thread_reads = db.session.execute(
        select(AuditEntry.actor, func.max(AuditEntry.at))
        .where(AuditEntry.action == "thread.read", AuditEntry.target_type == "contact",
               AuditEntry.target_id == str(contact_id))
        .group_by(AuditEntry.actor)).all()
    return {row.public_id: tuple(sorted(direct.get(row.public_id, set())
                                        | {actor for actor, last in thread_reads if last >= row.created_at}))
            for row in rows}


def _rows(contact_id: int, raw) -> list[ReadLogRow]:
    openers = _openers(contact_id, raw)
    return [ReadLogRow(message_id=r.id, public_id=r.public_id, channel=r.channel, status=r.status,
                       created_at=r.created_at, sent_at=r.sent_at, first_viewed_at=r.first_view or r.viewed_at,
                       last_viewed_at=r.last_view or r.viewed_at, views=r.views or 0,
                       opened_by=openers.get(r.public_id, ())) for r in raw]


def read_log_page(contact_id: int, page: int | None = None, owner_id: int | None = None,
                  per_page: int = PER_PAGE) -> Page:
    """One page of the contact's read log, newest message first (only ``owner_id``'s messages, when given)."""
    total = db.session.execute(select(func.count(Message.id)).where(_where(contact_id, owner_id))).scalar_one()
    number = page_number(page, total, per_page)
    raw = db.session.execute(_query(contact_id, owner_id).limit(per_page).offset((number - 1) * per_page)).all()
    return Page(items=_rows(contact_id, raw), total=total, page=number, per_page=per_page)


def export_read_log(actor: Actor, contact_id: int, owner_id: int | None = None) -> list[ReadLogRow]:
    """Every row of the contact's read log, for a download; audited as ``contact.read_log_export``.

    The audit entry is added to the caller's transaction (the caller commits).
    """
    rows = _rows(contact_id, db.session.execute(_query(contact_id, owner_id)).all())
    audit(actor, "contact.read_log_export", "contact", contact_id, rows=len(rows),
          scope="all" if owner_id is None else "own")
    return rows


def csv_values(row: ReadLogRow) -> list:
    """One row of the CSV download, in ``CSV_HEADER``'s order (times as ISO 8601 UTC)."""
    def iso(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") + "Z" if value else ""

    return [row.public_id, row.channel, iso(row.created_at), iso(row.sent_at), row.status,
            "yes" if row.read else "no", iso(row.first_viewed_at), row.views, iso(row.last_viewed_at),
            "; ".join(row.opened_by)]


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a message's timeline: its kind, when, a short summary of its detail, the address hash's start."""

    kind: str
    at: datetime
    summary: str
    address: str | None


# Detail keys not worth a place on the timeline (the provider's raw error text can quote addresses).
_HIDDEN_DETAIL = {"error"}


def summarise_detail(detail: dict | None) -> str:
    """An event's detail as a short line, e.g. ``channel sms · delivery notice``."""
    parts = []
    for key, value in sorted((detail or {}).items()):
        if key in _HIDDEN_DETAIL or value in (None, "", False):
            continue
        name = key.replace("_", " ")
        parts.append(name if value is True else f"{name} {value}")
    return " · ".join(parts)[:200]


def message_timeline(message_id: int) -> list[TimelineEntry]:
    """The message's events, oldest first, as its page shows them."""
    return [TimelineEntry(kind=e.kind, at=e.at, summary=summarise_detail(e.detail),
                          address=e.ip_hash[:10] if e.ip_hash else None)
            for e in db.session.execute(select(MessageEvent).where(MessageEvent.message_id == message_id)
                                        .order_by(MessageEvent.at, MessageEvent.id)).scalars()]
