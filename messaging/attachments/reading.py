"""Opening a file: decrypted under its message's key, and every opening is on the message's record."""
from __future__ import annotations

from messaging.audit import Actor, audit
from messaging.events import record_event
from messaging.models import Attachment
from messaging.security.crypto import keyring


def open_attachment(attachment: Attachment, ip: str | None, staff: Actor | None = None) -> bytes:
    """The file's bytes; records ``attachment_downloaded`` (and an audit entry when staff open it)."""
    message = attachment.message
    data = keyring().data_key(message.data_key).decrypt(attachment.ciphertext)
    record_event(message, "attachment_downloaded", ip, attachment=attachment.public_id,
                 filename=attachment.filename, by="staff" if staff else "client")
    if staff is not None:
        # By id only: a client's file name can name them, and an audit entry outlives their erasure.
        audit(staff, "attachment.download", "message", message.public_id, attachment=attachment.public_id)
    return data
