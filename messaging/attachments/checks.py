"""What a file really is, read from its bytes: a name or a declared type is what an attacker controls."""
from __future__ import annotations

import filetype

from .errors import TooLarge, UnsupportedMedia

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ACCEPTED = {
    "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/heic": "HEIC",
    DOCX: "Word (DOCX)", XLSX: "Excel (XLSX)", PPTX: "PowerPoint (PPTX)",
}
ACCEPTED_NAMES = ", ".join(ACCEPTED.values())
MEGABYTE = 1024 * 1024


def detect_type(data: bytes) -> str:
    """The accepted media type the content has; UnsupportedMedia for anything else (an executable too)."""
    kind = filetype.guess(data) if data else None
    if kind is None or kind.mime not in ACCEPTED:
        raise UnsupportedMedia(f"This file type is not accepted. Accepted: {ACCEPTED_NAMES}.",
                               {"files": f"must be one of: {ACCEPTED_NAMES}"})
    return kind.mime


def check_size(data: bytes, max_mb: int) -> None:
    """TooLarge when one file is over ``max_mb`` megabytes (MiB, as a phone or a file manager shows it)."""
    if len(data) > max_mb * MEGABYTE:
        raise TooLarge(f"A file is larger than the limit of {max_mb} MB.",
                       {"files": f"each file must be at most {max_mb} MB"})


def check_file(data: bytes, max_mb: int) -> str:
    """Size first (cheap, and a huge file is refused whatever it is), then the type by content."""
    check_size(data, max_mb)
    return detect_type(data)
