"""The audit log: who did what to which record, and why."""
from __future__ import annotations

from dataclasses import dataclass

from messaging.db import db
from messaging.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a console user, an API key or the system (CLI, scheduler)."""

    label: str
    user_id: int | None = None
    api_key_id: int | None = None
    role: str = "admin"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(label=user.email, user_id=user.id, role=user.role)

    @classmethod
    def for_api_key(cls, key) -> Actor:
        return cls(label=f"api-key:{key.name}", api_key_id=key.id, role=key.role)


SYSTEM = Actor(label="system")


def audit(actor: Actor, action: str, target_type: str | None = None, target_id=None,
          **detail) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit makes it durable with the change."""
    entry = AuditEntry(actor=actor.label, user_id=actor.user_id, api_key_id=actor.api_key_id,
                       action=action, target_type=target_type,
                       target_id=None if target_id is None else str(target_id), detail=detail)
    db.session.add(entry)
    return entry
