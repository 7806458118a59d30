"""The audit log's table: who did what to which record, with details (written by ``messaging.audit``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from messaging.db import db
from messaging.models.defaults import now


class AuditEntry(db.Model):
    """One audited action: the actor (user or API key), the action, its target and details."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # The actor's address as a keyed hash (comparable between entries, not reversible); None for the system.
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    # HMAC-SHA256 over this entry's content and the previous entry's MAC (messaging.audit_chain).
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain's head, one row (id 1): the newest entry's id and MAC and the count, itself MACed.

    Every append updates this row first, so the row lock serialises appends, and a deletion of the
    newest entries leaves a head that names an entry (and a count) the table no longer has.
    """

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_id: Mapped[int | None]
    entry_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_mac: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))


# The head row exists from the moment the table does (a migration inserts its own, chaining what was there).
event.listen(AuditHead.__table__, "after_create", DDL("INSERT INTO audit_head (id, entry_count) VALUES (1, 0)"))
