"""Moving a broadcast or a campaign from one status to another, race-safe and with its old status known.

Each try is one UPDATE conditional on a single status, so when it moves the row the status it moved
from is certain (the audit entry's old value), not read before and possibly stale. A try fails only
when someone else moved the row meanwhile; the next try starts from their status, and a status the
move does not allow ends the tries.
"""
from __future__ import annotations

from sqlalchemy import update

from messaging.db import db

# More tries than there are statuses: each failed try means a concurrent move, and a row cannot
# pass through more statuses than there are without reaching one the move does not allow.
_TRIES = 8


def move_status(row, allowed: tuple[str, ...], to: str) -> dict | None:
    """Set ``row.status`` to ``to`` if it is one of ``allowed``: ``{"old": …, "new": …}``, or None if not.

    ``row`` (a Broadcast or a Campaign) is refreshed from the database either way.
    """
    model = type(row)
    was = row.status
    for _try in range(_TRIES):
        moved = was in allowed and db.session.execute(
            update(model).where(model.id == row.id, model.status == was).values(status=to)
            .execution_options(synchronize_session=False)).rowcount
        db.session.refresh(row)
        if moved:
            return {"old": {"status": was}, "new": {"status": row.status}}
        if row.status not in allowed:
            return None
        was = row.status
    return None
