"""Master-key rotation: re-encrypt every column sealed under ``ENCRYPTION_KEYS`` under its first key.

Six columns hold ciphertext under the master keys: each message's wrapped data key, a code
delivery's sealed payload, the outbox transport's records, each contact import's wrapped data
key, each console user's TOTP secret and each webhook endpoint's signing secret. Message bodies,
import files and rejected rows are under their data keys and need nothing: re-wrapping the data
key is enough.

The work goes in batches, each its own transaction, walking each table by id (keyset pagination),
so memory stays flat however large the tables are. A run stopped half-way leaves every row readable,
because the MultiFernet opens rows under the old keys and the new one alike; running it again
finishes the job. A row no configured key opens is left as it is and reported, never fatal.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select, update

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import ContactImport, Delivery, Message, OutboxEntry, User, WebhookEndpoint
from messaging.security.crypto import InvalidToken, keyring

BATCH_SIZE = 500
MAX_LISTED_IDS = 100  # a wholly wrong key would make every row unreadable: keep the report small

# (what the progress calls the rows, the column holding master-key ciphertext)
SEALED_COLUMNS = (
    ("message keys", Message.__table__.c.data_key),
    ("code payloads", Delivery.__table__.c.payload_ciphertext),
    ("outbox records", OutboxEntry.__table__.c.payload),
    ("import keys", ContactImport.__table__.c.data_key),
    ("two-factor secrets", User.__table__.c.totp_secret_ciphertext),
    ("webhook secrets", WebhookEndpoint.__table__.c.secret_ciphertext),
)


@dataclass
class ColumnRotation:
    """The outcome for one column; ``unreadable_ids`` lists at most MAX_LISTED_IDS of them."""

    label: str
    table: str
    total: int = 0
    rotated: int = 0
    unreadable: int = 0
    unreadable_ids: list[int] = field(default_factory=list)


@dataclass
class RotationReport:
    """What one rotation did, column by column, with totals."""

    columns: list[ColumnRotation]

    @property
    def rotated(self) -> int:
        return sum(c.rotated for c in self.columns)

    @property
    def unreadable(self) -> int:
        return sum(c.unreadable for c in self.columns)


ProgressCallback = Callable[[ColumnRotation], None]


def rotate_master_keys(actor: Actor, batch_size: int = BATCH_SIZE,
                       progress: ProgressCallback | None = None) -> RotationReport:
    """Re-encrypt every master-key ciphertext under the first key of ``ENCRYPTION_KEYS``.

    Commits once per batch of ``batch_size`` rows and calls ``progress`` after each commit with the
    column's running counts. Rows that no configured key opens are counted and left untouched.
    Audited once at the end (``keys.rotate``) with the counts per table that holds any such rows.
    """
    db.session.commit()  # each batch is its own transaction, from a clean start
    report = RotationReport([_rotate_column(label, column, batch_size, progress)
                             for label, column in SEALED_COLUMNS])
    audit(actor, "keys.rotate", "keyring", None,
          rotated={c.table: c.rotated for c in report.columns if c.total},
          unreadable={c.table: c.unreadable for c in report.columns if c.unreadable})
    db.session.commit()
    return report


def _rotate_column(label: str, column, batch_size: int, progress: ProgressCallback | None) -> ColumnRotation:
    table = column.table
    outcome = ColumnRotation(label=label, table=table.name)
    outcome.total = db.session.execute(select(func.count()).select_from(table).where(column.is_not(None))).scalar()
    # Only if the value is still the one read: a code payload cleared by a send meanwhile stays cleared.
    rewrite = (update(table).where(table.c.id == bindparam("b_id"), column == bindparam("b_old"))
               .values({column.name: bindparam("b_new")}))
    ring = keyring()
    last_id = 0
    while True:
        rows = db.session.execute(
            select(table.c.id, column).where(table.c.id > last_id, column.is_not(None))
            .order_by(table.c.id).limit(batch_size)).all()
        if not rows:
            break
        changes = []
        for row_id, token in rows:
            try:
                changes.append({"b_id": row_id, "b_old": token, "b_new": ring.rewrap(token)})
            except InvalidToken:
                outcome.unreadable += 1
                if len(outcome.unreadable_ids) < MAX_LISTED_IDS:
                    outcome.unreadable_ids.append(row_id)
        if changes:
            db.session.execute(rewrite, changes)
        db.session.commit()
        outcome.rotated += len(changes)
        last_id = rows[-1][0]
        if progress is not None:
            progress(outcome)
    return outcome


__all__ = ["rotate_master_keys", "RotationReport", "ColumnRotation", "SEALED_COLUMNS", "BATCH_SIZE"]
