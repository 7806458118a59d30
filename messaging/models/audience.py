"""Tables of audiences: the consent ledger, the search index of tags and form fields, segments, imports.

``ConsentEntry`` rows are never edited or deleted: the current state of a channel and purpose is
the contact's latest row (highest id). ``ContactTag`` and ``ContactField`` are an index derived
from ``Contact.tags`` and ``Contact.form_data`` (case-folded in Python, so SQLite and PostgreSQL
compare alike); ``messaging.people.search_index`` keeps them in step and nothing else writes them.
A contact import keeps its file as encrypted chunks until the import has run, and its rejected
rows (encrypted too) until the import is deleted.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from messaging.db import db
from messaging.models.defaults import now

CONSENT_CHANNELS = ("sms", "email", "voice")
CONSENT_PURPOSES = ("transactional", "marketing")
CONSENT_SOURCES = ("import", "staff", "api", "keyword", "provider", "client", "system")
# ``draft``: uploaded, waiting for someone to confirm the mapping; only ``pending`` and ``running`` are worked on.
IMPORT_STATUSES = ("draft", "pending", "running", "done", "failed")


class ConsentEntry(db.Model):
    """One grant or withdrawal of consent for a channel and purpose: who, when, from where, why."""

    __tablename__ = "consent_entry"
    __table_args__ = (Index("ix_consent_entry_latest", "contact_id", "channel", "purpose", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    channel: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=now)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    note: Mapped[str | None] = mapped_column(Text)


class ContactTag(db.Model):
    """One tag of a contact, case-folded: the index segments search instead of the JSON list."""

    __tablename__ = "contact_tag"
    __table_args__ = (Index("ix_contact_tag_tag", "tag", "contact_id"),)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    # Folding can lengthen a 64-character tag ("ﬃ" → "ffi"): room for three times as many.
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)


class ContactField(db.Model):
    """One form field of a contact as segments compare it: folded text, and number or date when it reads as one."""

    __tablename__ = "contact_field"
    # No index on ``text``: a folded 1,000-character value can exceed PostgreSQL's b-tree row limit.
    __table_args__ = (Index("ix_contact_field_name", "name", "contact_id"),
                      Index("ix_contact_field_name_number", "name", "number"),
                      Index("ix_contact_field_name_date", "name", "date"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The value as text, case-folded (true/false for booleans): what eq, ne and contains compare.
    text: Mapped[str] = mapped_column(Text)
    number: Mapped[float | None] = mapped_column(Float)
    # ISO date (YYYY-MM-DD) when the value starts with one: what before and after compare.
    date: Mapped[str | None] = mapped_column(String(10))


class Segment(db.Model):
    """A stored rule over tags, form fields and consent; its contacts are found in SQL when asked."""

    __tablename__ = "segment"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    created_by: Mapped[str | None] = mapped_column(String(254))

    def __str__(self) -> str:
        return self.name


class ContactImport(db.Model):
    """A CSV import run in the background: its mapping, where it stands, and what it did."""

    __tablename__ = "contact_import"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    filename: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Wrapped data key of the file's chunks and the rejected rows (rewrapped by key rotation).
    data_key: Mapped[bytes] = mapped_column(LargeBinary)
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    # The file's header row (column names as written): the rejected rows' download repeats it.
    columns: Mapped[list] = mapped_column(JSON, default=list)
    # Column index (as text) → target: a contact column, ``tags``, ``consent:CHANNEL:PURPOSE``,
    # ``form:NAME`` or ``ignore``.
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    extra_tags: Mapped[list] = mapped_column(JSON, default=list)
    total_bytes: Mapped[int] = mapped_column(Integer, default=0)
    processed_bytes: Mapped[int] = mapped_column(Integer, default=0)
    # The file line the next unprocessed row starts on: a worker that died resumes there.
    next_line: Mapped[int] = mapped_column(Integer, default=2)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # A worker holds the import until then; an expired lease lets another worker resume it.
    lease_until: Mapped[datetime | None]
    # Which worker holds the lease: each batch commits only while it is still this one.
    claimed_by: Mapped[str | None] = mapped_column(String(64))


class ContactImportChunk(db.Model):
    """A piece of an import's file, encrypted under the import's data key; deleted once imported."""

    __tablename__ = "contact_import_chunk"
    import_id: Mapped[int] = mapped_column(ForeignKey("contact_import.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class ContactImportReject(db.Model):
    """A row an import refused: its file line, why, and the row itself (encrypted) for the download."""

    __tablename__ = "contact_import_reject"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("contact_import.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    row_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
