"""The audit log: who did what to which record, and why — each entry chained to the one before.

``audit()`` appends inside the caller's transaction: it first updates the chain's head row, which
takes that row's write lock (PostgreSQL) or the database's (SQLite), so appends are serialised and each
entry's MAC covers its predecessor's; the caller's commit makes entry and head durable with the change,
its rollback drops both. The caller's pending changes are flushed first (their locks come before the
head's); the entry itself is written with plain Core statements and MACed over exactly what is stored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from messaging import clock
from messaging.audit_chain import chain_key, entry_mac, head_mac
from messaging.db import db
from messaging.models import AuditEntry, AuditHead
from messaging.security.crypto import keyring

_ENTRY = AuditEntry.__table__
_HEAD = AuditHead.__table__
# Built once: audit() runs on every sign-in, message and pass, and building statements costs more than running them.
_LOCK_HEAD = (sa.update(_HEAD).where(_HEAD.c.id == 1).values(entry_count=_HEAD.c.entry_count + 1)
              .returning(_HEAD.c.entry_count, _HEAD.c.last_mac))
_INSERT = sa.insert(_ENTRY).returning(_ENTRY.c.id)
_SET_MAC = sa.update(_ENTRY).where(_ENTRY.c.id == sa.bindparam("entry_id")).values(mac=sa.bindparam("entry_mac"))
_MOVE_HEAD = sa.update(_HEAD).where(_HEAD.c.id == 1).values(
    last_id=sa.bindparam("head_last_id"), last_mac=sa.bindparam("head_last_mac"), mac=sa.bindparam("head_mac"))


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a console user, an API key or the system (CLI, scheduler), and from where."""

    label: str
    user_id: int | None = None
    api_key_id: int | None = None
    role: str = "admin"
    # The client's address; stored only as a keyed hash (``AuditEntry.ip_hash``). None for the system.
    address: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for an admin (users and API keys alike)."""
        return self.role == "admin"

    @classmethod
    def for_user(cls, user, address: str | None = None) -> Actor:
        """The actor of a console user (signed in from ``address``)."""
        return cls(label=user.email, user_id=user.id, role=user.role, address=address)

    @classmethod
    def for_api_key(cls, key, address: str | None = None) -> Actor:
        """The actor of an API key (calling from ``address``)."""
        return cls(label=f"api-key:{key.name}", api_key_id=key.id, role=key.role, address=address)

    def at_address(self, address: str | None) -> Actor:
        """The same actor, acting from ``address``."""
        return replace(self, address=address)


SYSTEM = Actor(label="system")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def redacted(text: str | None) -> str | None:
    """``text`` (a provider's error, say) with e-mail addresses and phone-like numbers replaced.

    An audit entry outlives a contact's erasure and cannot be edited (the chain): what it quotes from
    outside must not carry a contact's address.
    """
    if not text:
        return text
    text = _EMAIL.sub("[e-mail]", text)
    return _NUMBER.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text)


def _plain(detail: dict) -> dict:
    # What the MAC covers must be what the JSON column gives back: round-trip now (dates become text),
    # and a caller mutating a list it passed cannot change the stored entry behind the MAC.
    return json.loads(json.dumps(detail, default=str))


def audit(actor: Actor, action: str, target_type: str | None = None, target_id=None,
          **detail) -> AuditEntry:
    """Append an audit entry to the chain in the caller's transaction; the caller's commit makes it durable.

    Audit entries name contacts by id, never by name, phone or e-mail.
    """
    # The caller's pending changes go first: their row locks are then always taken before the head's, never
    # after it at commit, so two transactions cannot each hold what the other waits for.
    db.session.flush()
    head = db.session.execute(_LOCK_HEAD).first()
    if head is None:
        raise RuntimeError("the audit head row (audit_head id 1) is missing: run the migrations")
    values = {"at": clock.utcnow(), "actor": actor.label, "user_id": actor.user_id, "api_key_id": actor.api_key_id,
              "action": action, "target_type": target_type,
              "target_id": None if target_id is None else str(target_id), "detail": _plain(detail),
              "ip_hash": keyring().keyed_hash(actor.address) if actor.address else None}
    values["id"] = db.session.execute(_INSERT, values).scalar_one()
    key = chain_key()
    values["mac"] = entry_mac(key, values, head.last_mac)
    db.session.execute(_SET_MAC, {"entry_id": values["id"], "entry_mac": values["mac"]})
    db.session.execute(_MOVE_HEAD, {"head_last_id": values["id"], "head_last_mac": values["mac"],
                                    "head_mac": head_mac(key, values["id"], head.entry_count, values["mac"])})
    entry = AuditEntry(**values)
    make_transient_to_detached(entry)
    db.session.add(entry)
    return entry
