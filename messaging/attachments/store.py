"""Adding a file to a message: checked, then sealed with that message's own data key."""
from __future__ import annotations

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Attachment, Message
from messaging.security.crypto import keyring
from messaging.settings import get_settings

from .checks import check_file
from .naming import safe_filename


def check_upload(data: bytes) -> str:
    """The media type of an upload, or UnsupportedMedia/TooLarge, under the current settings."""
    return check_file(data, get_settings().attachment_max_mb)


def add_attachment(message: Message, filename: str | None, data: bytes, uploaded_by: str = "staff") -> Attachment:
    """Check and store one file on a secure message. Commits nothing."""
    if not message.is_secure or message.data_key is None:
        raise ValidationFailed("Attachments need a secure message.",
                               {"files": "attachments need a secure message"})
    media_type = check_upload(data)
    sealed = keyring().data_key(message.data_key).encrypt(data)
    attachment = Attachment(message=message, filename=safe_filename(filename, media_type), media_type=media_type,
                            size_bytes=len(data), ciphertext=sealed, uploaded_by=uploaded_by)
    db.session.add(attachment)
    return attachment
