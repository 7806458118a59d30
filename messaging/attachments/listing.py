"""What files a message carries, without loading or decrypting their content."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from messaging.db import db
from messaging.models import Attachment


@dataclass(frozen=True)
class AttachmentInfo:
    """What a list of files shows: name, type, size, who uploaded it; never the content."""

    public_id: str
    message_id: int
    filename: str
    media_type: str
    size_bytes: int
    uploaded_by: str
    created_at: datetime


def attachments_for(message_ids: Iterable[int]) -> dict[int, list[AttachmentInfo]]:
    """Every listed message's files, oldest first; a message without any has no key."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    # The ciphertext column is left out on purpose: a thread lists many files and opens few.
    rows = db.session.execute(
        db.select(Attachment.public_id, Attachment.message_id, Attachment.filename, Attachment.media_type,
                  Attachment.size_bytes, Attachment.uploaded_by, Attachment.created_at)
        .where(Attachment.message_id.in_(ids)).order_by(Attachment.id)).all()
    found: dict[int, list[AttachmentInfo]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(AttachmentInfo(*row))
    return found


def find_attachment(public_id: str) -> Attachment | None:
    """The attachment with this public id, or None (also for a value no public id can be)."""
    if not public_id or len(public_id) > 32:
        return None
    return db.session.execute(db.select(Attachment).filter_by(public_id=public_id)).scalar_one_or_none()


def human_size(size_bytes: int) -> str:
    """E.g. 12 KB, 3.4 MB: what a person needs to decide whether to download on a phone."""
    if size_bytes < 1024:
        return f"{size_bytes} B"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.0f} KB"
    return f"{size_bytes / (1024 * 1024):.1f} MB"
