"""The tamper-evident chain of audit entries: the MAC rules, and the walk that checks them.

Each entry's MAC is HMAC-SHA256 over its canonical content and the previous entry's MAC, keyed from
``SECRET_KEY``; the head row (``audit_head``) names the newest entry and the count and is MACed too, so
editing, deleting or inserting an entry, or removing the newest ones, breaks something ``verify_chain``
checks. Linkage is by MAC, not by id: gaps in ids (a rolled-back transaction) are fine.

The migration that chained the entries written before this existed keeps a frozen copy of these rules.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app

from messaging.db import db
from messaging.models import AuditEntry, AuditHead

BATCH = 1000
_ENTRY = AuditEntry.__table__
_HEAD = AuditHead.__table__
_COLUMNS = ("id", "at", "actor", "user_id", "api_key_id", "action", "target_type", "target_id", "detail",
            "ip_hash")


@lru_cache(maxsize=8)
def _derive(secret: str | bytes) -> bytes:
    return hashlib.sha256(b"sealed.audit-chain|" + (secret.encode() if isinstance(secret, str) else secret)).digest()


def chain_key(secret_key: str | bytes | None = None) -> bytes:
    """The MAC key: derived from SECRET_KEY, so a database alone cannot re-MAC a forged entry."""
    return _derive(current_app.config["SECRET_KEY"] if secret_key is None else secret_key)


def _when(at: datetime | str | None) -> str | None:
    if isinstance(at, datetime):
        return at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return at


def canonical(row) -> bytes:
    """One entry's content as the bytes its MAC covers (``row`` is an entry or a mapping of its columns)."""
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
    values = [get(name) for name in _COLUMNS]
    values[1] = _when(values[1])
    values[8] = values[8] or {}
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_mac(key: bytes, row, prev_mac: str | None) -> str:
    """The MAC of an entry that follows the entry whose MAC is ``prev_mac`` (None for the first)."""
    return hmac.new(key, canonical(row) + b"|" + (prev_mac or "").encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, last_id: int | None, entry_count: int, last_mac: str | None) -> str:
    """The MAC of the head row: the newest entry's id and MAC and the count cannot be rewritten unnoticed."""
    text = json.dumps(["head", last_id, entry_count, last_mac], separators=(",", ":")).encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


@dataclass
class ChainReport:
    """What ``verify_chain`` found: entries checked and the first problem, if any."""

    checked: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every entry's MAC and the head agree."""
        return self.problem is None


def _rows(after: int | None, limit: int = BATCH):
    query = sa.select(*(_ENTRY.c[name] for name in (*_COLUMNS, "mac"))).order_by(_ENTRY.c.id).limit(limit)
    if after is not None:
        query = query.where(_ENTRY.c.id > after)
    return [dict(row._mapping) for row in db.session.execute(query)]


def _entries():
    """Every entry in id order, a batch at a time (bounded memory however long the trail)."""
    after = None
    while batch := _rows(after):
        yield from batch
        after = batch[-1]["id"]


def _broken(key: bytes, row: dict, prev: dict | None, head) -> str:
    """Say what happened at the first entry whose MAC does not follow from its predecessor."""
    prev_mac = prev["mac"] if prev else None
    following = _rows(row["id"], limit=1)
    nxt = following[0] if following else None
    if nxt is not None and nxt["mac"] == entry_mac(key, nxt, prev_mac):
        return f"entry #{row['id']} was inserted (entry #{nxt['id']} follows the entry before it)"
    if nxt is None and head is not None and head.last_mac == prev_mac:
        return f"entry #{row['id']} was inserted (the head names the entry before it)"
    expected_id = (prev["id"] + 1) if prev else 1
    if row["id"] > expected_id:
        missing = f"#{expected_id}" if row["id"] == expected_id + 1 else f"#{expected_id}–#{row['id'] - 1}"
        after = f"its predecessor #{prev['id']}" if prev else "the start of the chain"
        return f"entry {missing} is missing / was deleted (entry #{row['id']} does not follow {after})"
    return f"entry #{row['id']} was edited (its MAC does not match its content)"


def verify_chain() -> ChainReport:
    """Walk the chain from the first entry to the head; the report names the first broken entry."""
    key = chain_key()
    head = db.session.execute(sa.select(_HEAD).where(_HEAD.c.id == 1)).first()
    report = ChainReport()
    prev = None
    for row in _entries():
        if row["mac"] is None or row["mac"] != entry_mac(key, row, prev["mac"] if prev else None):
            report.problem = _broken(key, row, prev, head)
            return report
        report.checked += 1
        prev = row
    report.problem = _head_problem(key, head, prev, report.checked)
    return report


def _head_problem(key: bytes, head, last: dict | None, count: int) -> str | None:
    if head is None:
        return "the audit head row is missing"
    if head.mac != head_mac(key, head.last_id, head.entry_count, head.last_mac) and (head.entry_count or head.mac):
        return "the audit head was forged (its MAC does not match the id, count and MAC it names)"
    last_id, last_mac = (last["id"], last["mac"]) if last else (None, None)
    if (head.last_id, head.entry_count, head.last_mac) != (last_id, count, last_mac):
        ends = f"the table ends at #{last_id} with {count}" if last else "the table has no entries"
        return (f"the newest entries were removed: the head names #{head.last_id}, count {head.entry_count}, "
                f"but {ends}")
    return None
