"""The development transport: records what would be sent, readable with ``flask outbox``.

Its "provider" is a table in the same database, written in the same transaction as the
delivery's outcome: a send and its record commit together or not at all, so a worker killed
mid-pass can never leave a row that was sent but looks unsent. The unique idempotency key makes
a repeated send a no-op all the same.
"""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from messaging.db import db
from messaging.delivery.transports.base import Outgoing, SendResult
from messaging.models import OutboxEntry
from messaging.security.crypto import keyring

_TABLE = OutboxEntry.__table__


class OutboxTransport:
    """The development transport: each send becomes a sealed row of the outbox table."""

    name = "outbox"
    transactional = True  # the send is part of the engine's transaction: no per-row commit needed
    max_send_seconds = 0.1  # a local insert

    def send(self, outgoing: Outgoing) -> SendResult:
        """Record the send, sealed, unless its idempotency key was recorded before."""
        values = {
            "delivery_id": outgoing.delivery_id, "idempotency_key": outgoing.idempotency_key,
            "channel": outgoing.channel, "to_address": outgoing.to,
            "message_public_id": outgoing.message_public_id,
            "payload": keyring().seal({"subject": outgoing.subject, "body": outgoing.text,
                                       "html": outgoing.html, "speak": outgoing.speak}),
        }
        # One statement: insert unless this key was recorded before (then that earlier record stands).
        # No autoflush: the engine's pending changes for the whole batch are flushed once, at its commit.
        with db.session.no_autoflush:
            inserted = db.session.connection().execute(_insert_statement(db.engine.dialect.name), values).scalar()
            if inserted is None:
                inserted = _find_id(outgoing.idempotency_key)
        return SendResult(provider_id=f"outbox-{inserted}")


_STATEMENTS: dict = {}


def _insert_statement(dialect_name: str):
    """Built once per dialect: constructing a statement per send costs more than executing it."""
    if dialect_name not in _STATEMENTS:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        _STATEMENTS[dialect_name] = dialect.insert(_TABLE).on_conflict_do_nothing(
            index_elements=["idempotency_key"]).returning(_TABLE.c.id)
    return _STATEMENTS[dialect_name]


def _find_id(key: str | None) -> int | None:
    if key is None:
        return None
    return db.session.execute(db.select(_TABLE.c.id).where(_TABLE.c.idempotency_key == key)).scalar()


def read_outbox(to: str | None = None) -> list[dict]:
    """What the outbox holds, oldest first, decrypted for the developer reading it."""
    query = db.select(OutboxEntry).order_by(OutboxEntry.id)
    if to:
        query = query.filter_by(to_address=to)
    rows = []
    for entry in db.session.execute(query).scalars():
        payload = keyring().unseal(entry.payload)
        rows.append({"id": entry.id, "to": entry.to_address, "channel": entry.channel,
                     "subject": payload.get("subject"), "body": payload.get("body"),
                     "html": payload.get("html"), "speak": payload.get("speak"),
                     "message_id": entry.message_public_id, "delivery_id": entry.delivery_id,
                     "created_at": entry.created_at.isoformat() + "Z"})
    return rows
