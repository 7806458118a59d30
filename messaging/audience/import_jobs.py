"""Contact imports as records: a file stored encrypted in pieces, a preview, a start, the rejected rows.

An import is created from a stream (an upload, a file the CLI opened) that is read piece by
piece: each ``CHUNK_SIZE`` bytes are checked (UTF-8, no NUL), encrypted under the import's own
data key and stored as a ``ContactImportChunk``, so the file is never whole in memory. The header
row is read back to detect the delimiter and the mapping; the import waits as ``draft`` until
someone starts it (``start_import``), then ``pending`` until a worker runs it
(``messaging.audience.import_runner``). The caller commits.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import BinaryIO

from cryptography.fernet import Fernet
from flask import current_app
from sqlalchemy import delete, insert, select

from messaging import clock
from messaging.audit import Actor
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.models import ContactImport, ContactImportChunk, ContactImportReject
from messaging.people.contacts import contact_fields
from messaging.security.crypto import keyring

from .csv_reading import CsvRow, CsvUnreadable, TextCheck, read_header, read_rows
from .import_rows import check_mapping, detect_mapping

# Every chunk but the last holds exactly this many bytes, so an offset names its chunk.
CHUNK_SIZE = 256 * 1024
PREVIEW_ROWS = 10
MAX_FILENAME = 255
DRAFT_HOURS = 24  # an upload nobody started is deleted after this long


class StoredFile:
    """An import's file read back from its chunks, one decrypted chunk in memory at a time."""

    def __init__(self, contact_import: ContactImport, fernet: Fernet | None = None, offset: int = 0):
        self.import_id = contact_import.id
        self.fernet = fernet or keyring().data_key(contact_import.data_key)
        self.offset = offset

    def __iter__(self) -> Iterator[bytes]:
        seq, skip = divmod(self.offset, CHUNK_SIZE)
        while True:
            token = db.session.execute(select(ContactImportChunk.ciphertext).where(
                ContactImportChunk.import_id == self.import_id, ContactImportChunk.seq == seq)).scalar()
            if token is None:
                return
            data = self.fernet.decrypt(token)
            yield data[skip:] if skip else data
            skip = 0
            seq += 1

    def rows(self, delimiter: str, line: int) -> Iterator[CsvRow]:
        """The records from this file's offset, which starts file line ``line``."""
        return read_rows(self, delimiter, offset=self.offset, line=line)


def _read_pieces(stream: BinaryIO) -> Iterator[bytes]:
    """The stream cut into pieces of exactly CHUNK_SIZE bytes (the last one shorter)."""
    pending = bytearray()
    while piece := stream.read(CHUNK_SIZE):
        pending += piece
        while len(pending) >= CHUNK_SIZE:
            yield bytes(pending[:CHUNK_SIZE])
            del pending[:CHUNK_SIZE]
    if pending:
        yield bytes(pending)


def create_import(actor: Actor, filename: str, stream: BinaryIO, extra_tags: list[str] = ()) -> ContactImport:
    """Store the file of a new import (``draft``) with its detected delimiter, header and mapping.

    Raises ValidationFailed (field ``file``) when the file is empty, binary, not UTF-8 or has no
    readable header row: nothing is stored then (the caller rolls back).
    """
    fernet, wrapped = keyring().new_data_key()
    contact_import = ContactImport(status="draft", filename=(filename or "upload.csv")[:MAX_FILENAME],
                                   created_by=actor.label, user_id=actor.user_id, data_key=wrapped,
                                   extra_tags=check_extra_tags(extra_tags), mapping={}, columns=[])
    db.session.add(contact_import)
    db.session.flush()
    check = TextCheck()
    total = 0
    try:
        for seq, piece in enumerate(_read_pieces(stream)):
            check.feed(piece)
            db.session.execute(insert(ContactImportChunk), {"import_id": contact_import.id, "seq": seq,
                                                             "ciphertext": fernet.encrypt(piece)})
            total += len(piece)
        check.finish()
        header = read_header(StoredFile(contact_import, fernet))
    except CsvUnreadable as exc:
        raise ValidationFailed(str(exc), {"file": str(exc)}) from None
    contact_import.total_bytes = total
    contact_import.delimiter = header.delimiter
    contact_import.columns = header.columns
    contact_import.mapping = detect_mapping(header.columns)
    contact_import.next_line = header.next_line
    contact_import.processed_bytes = header.end
    return contact_import


def check_extra_tags(tags) -> list[str]:
    """Tags given beside the file (``--tag``, the console's field), checked like a contact's; ValidationFailed."""
    words = [t for t in (str(tag).strip() for tag in tags or ()) if t]
    if not words:
        return []
    try:
        return contact_fields({"tags": words}, partial=True)["tags"]
    except ValidationFailed as exc:
        raise ValidationFailed(f"The extra tags cannot be used: {exc.fields.get('tags', exc.message)}",
                               {"extra_tags": exc.fields.get("tags", exc.message)}) from None


def preview_rows(contact_import: ContactImport, count: int = PREVIEW_ROWS) -> list[CsvRow]:
    """The first ``count`` rows after the header; a file that breaks within them raises ValidationFailed."""
    rows = []
    try:
        for row in StoredFile(contact_import, offset=contact_import.processed_bytes).rows(
                contact_import.delimiter, contact_import.next_line):
            rows.append(row)
            if len(rows) >= count:
                break
    except CsvUnreadable as exc:
        raise ValidationFailed(str(exc), {"file": str(exc)}) from None
    return rows


def start_import(contact_import: ContactImport, mapping: dict, extra_tags=None,
                 claim_for: str | None = None) -> ContactImport:
    """Confirm a draft's mapping (and extra tags) and queue it; ``claim_for`` a worker id that runs it at once.

    Raises Conflict when the import is no longer a draft, ValidationFailed for a mapping that
    cannot be used (no first_name column, one target twice, a bad form field name).
    """
    if contact_import.status != "draft":
        raise Conflict(f"This import is {contact_import.status} already; it can be started only once.")
    contact_import.mapping = check_mapping(mapping, contact_import.columns)
    if extra_tags is not None:
        contact_import.extra_tags = check_extra_tags(extra_tags)
    contact_import.status = "pending"
    if claim_for:
        now = clock.utcnow()
        contact_import.status = "running"
        contact_import.claimed_by = claim_for
        contact_import.started_at = now
        contact_import.lease_until = now + timedelta(seconds=current_app.config["IMPORT_LEASE_SECONDS"])
    return contact_import


def discard_import(contact_import: ContactImport) -> None:
    """Delete a draft (or a finished import) with its chunks and rejected rows; a queued or running one refuses."""
    if contact_import.status in ("pending", "running"):
        raise Conflict("This import is running; it can be deleted once it has finished.")
    for model in (ContactImportChunk, ContactImportReject):
        db.session.execute(delete(model).where(model.import_id == contact_import.id))
    db.session.delete(contact_import)


def discard_stale_drafts() -> int:
    """Delete drafts uploaded more than DRAFT_HOURS ago (their files with them); returns how many."""
    cutoff = clock.utcnow() - timedelta(hours=DRAFT_HOURS)
    stale = list(db.session.execute(select(ContactImport).where(ContactImport.status == "draft",
                                                                ContactImport.created_at < cutoff)).scalars())
    for contact_import in stale:
        discard_import(contact_import)
    return len(stale)


def rejected_rows(contact_import: ContactImport, page_size: int = 1000) -> Iterator[tuple[int, str, list[str]]]:
    """(line, reason, the row's values) of each rejected row, by line, read a page at a time."""
    fernet = keyring().data_key(contact_import.data_key)
    last_id = 0
    while True:
        page = db.session.execute(
            select(ContactImportReject.id, ContactImportReject.line, ContactImportReject.reason,
                   ContactImportReject.row_ciphertext)
            .where(ContactImportReject.import_id == contact_import.id, ContactImportReject.id > last_id)
            .order_by(ContactImportReject.id).limit(page_size)).all()
        if not page:
            return
        for reject_id, line, reason, token in page:
            last_id = reject_id
            yield line, reason, json.loads(fernet.decrypt(token))


def progress(contact_import: ContactImport) -> dict:
    """Where an import stands, as the console's progress bar and the CLI read it."""
    total = contact_import.total_bytes or 0
    done = total if contact_import.status == "done" else min(contact_import.processed_bytes or 0, total)
    return {"id": contact_import.id, "status": contact_import.status, "filename": contact_import.filename,
            "processed_bytes": done, "total_bytes": total,
            "percent": 100 if not total else int(done * 100 / total),
            "created": contact_import.created, "updated": contact_import.updated,
            "rejected": contact_import.rejected, "error": contact_import.error}
