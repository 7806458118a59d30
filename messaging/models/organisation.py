"""Tables of what the organisation sets up: the settings row, the recommendation matrix, templates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import db
from messaging.models.defaults import now

# The starting list of words the content check looks for in standard messages (Settings.sensitive_terms).
DEFAULT_SENSITIVE_TERMS = (
    "diagnosis, diagnoses, diagnosed, lab result, test result, HIV, pregnancy, pregnant, biopsy, "
    "cancer, chemotherapy, tumour, tumor, oncology, STI, STD, hepatitis, mental health, psychiatric, "
    "abortion, miscarriage, overdose, rehab, dialysis, custody, divorce, bankruptcy"
)


class Settings(db.Model):
    """The one row of organisation-wide settings (id is always 1)."""

    __tablename__ = "settings"
    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    org_name: Mapped[str] = mapped_column(String(200), default="Sealed demo clinic")
    brand_color: Mapped[str] = mapped_column(String(16), default="#1f5f8b")
    default_mode: Mapped[str] = mapped_column(String(16), default="secure")
    require_pin: Mapped[bool] = mapped_column(default=True)
    pin_method: Mapped[str] = mapped_column(String(32), default="contact_pin")
    link_ttl_hours: Mapped[int] = mapped_column(default=24 * 7)
    max_pin_attempts: Mapped[int] = mapped_column(default=5)
    lockout_minutes: Mapped[int] = mapped_column(default=15)
    portal_enabled: Mapped[bool] = mapped_column(default=True)
    replies_allowed: Mapped[bool] = mapped_column(default=True)
    enforce_recommendations: Mapped[str] = mapped_column(String(8), default="warn")
    renotify_hours: Mapped[str] = mapped_column(String(200), default="24, 72")
    quiet_hours: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    retention_days: Mapped[int] = mapped_column(default=0)
    session_idle_minutes: Mapped[int] = mapped_column(default=30)
    # Broadcast and campaign messages one contact may get, e.g. "1/day,3/week"; empty for no cap.
    frequency_cap: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The client's side: how long a verified client stays verified, link lifetimes, attachments,
    # the notice text per language (empty = the built-in text) and the logo shown on client pages.
    viewer_session_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    link_ttl_min_hours: Mapped[int] = mapped_column(default=1, server_default="1")
    link_ttl_max_hours: Mapped[int] = mapped_column(default=90 * 24, server_default="2160")
    attachment_max_mb: Mapped[int] = mapped_column(default=10, server_default="10")
    client_attachments: Mapped[bool] = mapped_column(default=False, server_default=false())
    notice_text_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    notice_text_es: Mapped[str] = mapped_column(Text, default="", server_default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_media_type: Mapped[str | None] = mapped_column(String(32))
    # Console sign-in with a TOTP code as well as the password: off, admins, all.
    two_factor: Mapped[str] = mapped_column(String(8), default="off", server_default="off")
    # Clients without a PIN choose one after a one-time code (off: only staff set PINs).
    client_sets_pin: Mapped[bool] = mapped_column(default=True, server_default=true())
    # How clients reach the office, shown in the secure page's explanation (empty: "the way you usually do").
    office_contact: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Words the content check looks for in standard messages (comma or newline separated).
    sensitive_terms: Mapped[str] = mapped_column(Text, default=DEFAULT_SENSITIVE_TERMS)
    help_text: Mapped[str] = mapped_column(
        Text, default="Reply STOP to stop messages, START to receive them again.")


class Situation(db.Model):
    """One row of the recommendation matrix."""

    __tablename__ = "situation"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    recommendation: Mapped[str] = mapped_column(String(32), default="standard")
    rationale: Mapped[str] = mapped_column(Text, default="")
    protected_data: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.label


class Template(db.Model):
    """A message template: Jinja body (and subject), its situation, its level of the ladder, its notice."""

    __tablename__ = "template"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("situation.id"))
    mode: Mapped[str] = mapped_column(String(16), default="inherit")
    require_pin: Mapped[str] = mapped_column(String(16), default="inherit")
    notification_text: Mapped[str | None] = mapped_column(Text)
    # Within the organisation's link_ttl_min_hours..link_ttl_max_hours; None = link_ttl_hours.
    link_ttl_hours: Mapped[int | None]
    expire_after_view: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    situation: Mapped[Situation | None] = relationship()

    def __str__(self) -> str:
        return self.name
