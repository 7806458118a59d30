"""Running a contact import in the background: claimed with a lease, one transaction per batch, resumable.

A worker claims an import with one conditional UPDATE (``pending``, or ``running`` with an
expired lease, becomes ``running`` under the worker's id), so of two workers racing for it one
wins. Each batch is one transaction that first renews the lease, only while the import is still
this worker's, then writes the batch's contacts, ledger rows, index rows and rejected rows, and
moves ``next_line`` / ``processed_bytes`` and the counters. A worker that dies mid-batch leaves
that batch rolled back; once its lease runs out another worker resumes at ``next_line``, so every
row is imported exactly once. When the file is done its chunks are deleted and the run audited
(counts, not content). This module owns its transactions.
"""
from __future__ import annotations

import json
import os
import socket
import time
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, insert, or_, select, update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import ContactImport, ContactImportChunk, ContactImportReject
from messaging.security.crypto import keyring

from .csv_reading import CsvRow, CsvUnreadable
from .import_jobs import StoredFile
from .import_rows import RowReader
from .import_writer import Outcome, upsert_contacts

IMPORTS = ContactImport.__table__
BATCH_SIZE = 500


def worker_id() -> str:
    """A name for one run of a worker: host, process and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["IMPORT_LEASE_SECONDS"])


def runnable_imports() -> list[int]:
    """Ids of imports a worker may take now: pending ones, and running ones whose lease ran out."""
    now = clock.utcnow()
    return list(db.session.execute(select(IMPORTS.c.id).where(or_(
        IMPORTS.c.status == "pending", and_(IMPORTS.c.status == "running", IMPORTS.c.lease_until < now)))
        .order_by(IMPORTS.c.id)).scalars())


def claim_import(import_id: int, worker: str) -> bool:
    """Take the import for ``worker`` (committed); False when it is not runnable or another worker took it."""
    now = clock.utcnow()
    result = db.session.execute(
        update(IMPORTS).where(IMPORTS.c.id == import_id, or_(
            IMPORTS.c.status == "pending", and_(IMPORTS.c.status == "running", IMPORTS.c.lease_until < now)))
        .values(status="running", claimed_by=worker, lease_until=now + _lease(),
                started_at=func.coalesce(IMPORTS.c.started_at, now)))
    db.session.commit()
    return result.rowcount == 1


def _still_mine(import_id: int, worker: str) -> bool:
    """Renew the lease, in the batch's transaction, only while the import is still this worker's."""
    result = db.session.execute(
        update(IMPORTS).where(IMPORTS.c.id == import_id, IMPORTS.c.claimed_by == worker,
                              IMPORTS.c.status == "running")
        .values(lease_until=clock.utcnow() + _lease()))
    return result.rowcount == 1


class _Run:
    """One worker's pass over one claimed import."""

    def __init__(self, contact_import: ContactImport, worker: str):
        self.id = contact_import.id
        self.worker = worker
        self.fernet = keyring().data_key(contact_import.data_key)
        self.actor = Actor(label=contact_import.created_by, user_id=contact_import.user_id)
        self.reader = RowReader(contact_import.mapping, contact_import.columns, contact_import.extra_tags)
        self.total = contact_import.total_bytes
        self.rows = StoredFile(contact_import, self.fernet, offset=contact_import.processed_bytes).rows(
            contact_import.delimiter, contact_import.next_line)

    def write_batch(self, batch: list[CsvRow]) -> bool:
        """Write one batch and its progress in one transaction; False (rolled back) when the import was lost."""
        if not _still_mine(self.id, self.worker):
            db.session.rollback()
            return False
        now = clock.utcnow()
        items = []
        for row in batch:
            change = self.reader.read(row.values)
            items.append(Outcome.rejected(change) if isinstance(change, str) else change)
        outcomes = upsert_contacts(db.session.connection(), items, self.actor, "import", now)
        rejects = [{"import_id": self.id, "line": row.line, "reason": outcome.reason,
                    "row_ciphertext": self.fernet.encrypt(json.dumps(row.values, ensure_ascii=False).encode())}
                   for row, outcome in zip(batch, outcomes, strict=True) if outcome.status == "rejected"]
        if rejects:
            db.session.execute(insert(ContactImportReject), rejects)
        counts = {status: sum(1 for o in outcomes if o.status == status) for status in ("created", "updated")}
        db.session.execute(update(IMPORTS).where(IMPORTS.c.id == self.id).values(
            created=IMPORTS.c.created + counts["created"], updated=IMPORTS.c.updated + counts["updated"],
            rejected=IMPORTS.c.rejected + len(rejects), next_line=batch[-1].next_line,
            processed_bytes=batch[-1].end))
        db.session.commit()
        return True

    def finish(self, error: str | None = None) -> bool:
        """Mark the import done (or failed), delete its file and audit the run; False when it was lost."""
        if not _still_mine(self.id, self.worker):
            db.session.rollback()
            return False
        values = {"status": "failed" if error else "done", "finished_at": clock.utcnow(), "lease_until": None,
                  "error": error}
        if not error:
            values["processed_bytes"] = self.total
        db.session.execute(update(IMPORTS).where(IMPORTS.c.id == self.id).values(**values))
        db.session.execute(delete(ContactImportChunk).where(ContactImportChunk.import_id == self.id))
        counts = db.session.execute(select(IMPORTS.c.created, IMPORTS.c.updated, IMPORTS.c.rejected)
                                    .where(IMPORTS.c.id == self.id)).one()
        audit(self.actor, "contacts.import", "contact_import", self.id, status=values["status"],
              created=counts.created, updated=counts.updated, rejected=counts.rejected)
        db.session.commit()
        return True


def run_import(import_id: int, worker: str, batch_size: int | None = None, max_batches: int | None = None) -> str:
    """Run an import this worker has claimed to its end; returns ``done``, ``failed``, ``lost`` (another
    worker holds it now) or ``paused`` (``max_batches`` written; the lease keeps it until it runs out)."""
    db.session.commit()
    contact_import = db.session.get(ContactImport, import_id, populate_existing=True)
    if contact_import is None or contact_import.claimed_by != worker or contact_import.status != "running":
        return "lost"
    run = _Run(contact_import, worker)
    size = batch_size or BATCH_SIZE
    batch: list[CsvRow] = []
    written = 0
    error = None
    rows = iter(run.rows)
    while True:
        try:
            row = next(rows, None)
        except CsvUnreadable as exc:
            # The rows read before the break are imported; the import ends there, saying where.
            row, error = None, str(exc)
        if row is not None:
            batch.append(row)
        if batch and (row is None or len(batch) >= size):
            if not run.write_batch(batch):
                return "lost"
            batch, written = [], written + 1
            if row is not None and max_batches is not None and written >= max_batches:
                return "paused"
        if row is None:
            break
    if not run.finish(error):
        return "lost"
    return "failed" if error else "done"


def run_pending_imports(max_seconds: float = 300.0) -> int:
    """Claim and run the runnable imports one after another (the scheduler's job); returns how many ran.

    Stops taking new ones after ``max_seconds``; an import under way always runs to its end.
    """
    from .import_jobs import discard_stale_drafts

    discard_stale_drafts()
    db.session.commit()
    started = time.monotonic()
    ran = 0
    for import_id in runnable_imports():
        if time.monotonic() - started > max_seconds:
            break
        worker = worker_id()
        if claim_import(import_id, worker):
            run_import(import_id, worker)
            ran += 1
    return ran
