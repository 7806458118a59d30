"""Tables of the people Sealed knows: console users, API keys, and the contacts it reaches."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from messaging.db import db
from messaging.models.defaults import now


class User(db.Model):
    """A console user. Flask-Login's protocol is spelled out here so the core needs no Flask-Login."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="staff")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_login_at: Mapped[datetime | None]
    # Part of every console session; raising it (logout, password or role change, deactivation)
    # ends every session of this user on the server, however old the cookie that carries it.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # TOTP two-factor sign-in: the secret sealed under the master keys, set when enrolment is
    # confirmed with a first code; the one-time recovery codes as SHA-256 hashes (used ones removed).
    totp_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None]
    # The last time step accepted: a code is good once, even inside its 30 seconds.
    totp_last_step: Mapped[int | None]
    recovery_code_hashes: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        return str(self.id)

    def __str__(self) -> str:
        return self.email


class ApiKey(db.Model):
    """An API key; only its SHA-256 is kept (keys are 256-bit random, so a slow hash buys nothing)."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Contact(db.Model):
    """A client Sealed reaches: how (phone, e-mail), language and zone, form data and the PIN's hash and lock.

    Consent is not a column: it is the ledger in ``messaging.models.audience.ConsentEntry``.
    """

    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    form_data: Mapped[dict] = mapped_column(JSON, default=dict)
    # ``en`` or ``es``: the language of what the client reads.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    date_of_birth: Mapped[date | None]
    # IANA zone; None means the organisation's zone is used when reading.
    timezone: Mapped[str | None] = mapped_column(String(64))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    # The PIN is one secret across all of the contact's links, so wrong guesses count here too.
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None]
    # Consecutive locks since the last successful verification: each lasts four times the one before.
    pin_lock_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Who set the PIN (``client`` on the secure page, ``staff`` in the console or API) and when; None without one.
    pin_set_by: Mapped[str | None] = mapped_column(String(8))
    pin_set_at: Mapped[datetime | None]
    # When the contact first acted on a secure page that carried the plain explanation of what it is.
    secure_intro_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    # Set by GDPR erasure: personal fields are anonymised and the messages' keys destroyed.
    erased_at: Mapped[datetime | None]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    def __str__(self) -> str:
        return self.full_name
