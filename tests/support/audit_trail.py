"""Helpers for the audit-trail tests: write a few chained entries, tamper with the table by raw SQL."""
from __future__ import annotations

from sqlalchemy import text

from messaging.audit import SYSTEM, audit
from messaging.db import db


def write_entries(count: int, start: int = 1) -> list[int]:
    """Append ``count`` entries through ``audit()`` (one commit each); their ids."""
    ids = []
    for n in range(start, start + count):
        ids.append(audit(SYSTEM, "settings.change", "settings", f"key{n}", key=f"key{n}", old=n, new=n + 1).id)
        db.session.commit()
    return ids


def raw(sql: str, **params) -> None:
    """Change the database directly, outside the app's code, as an intruder with database access would."""
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)
    db.session.expire_all()


def leave_id_gap(size: int = 5) -> None:
    """Make the next entries' ids jump by ``size`` (as rolled-back transactions leave on PostgreSQL)."""
    top = db.session.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_entry")).scalar_one() + size
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        raw("SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), :top)", top=top)
    else:  # SQLite hands out MAX(rowid) + 1: a placeholder row at the top moves it on (removed after)
        raw("INSERT INTO audit_entry (id, at, actor, action, detail) VALUES (:id, '2026-01-01 00:00:00', 'gap', "
            "'gap', '{}')", id=top)


def remove_gap_placeholders() -> None:
    """Remove the SQLite placeholder rows ``leave_id_gap`` wrote."""
    raw("DELETE FROM audit_entry WHERE actor = 'gap'")
