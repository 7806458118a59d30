"""File names as stored and as sent back: safe in a header and on any disk, the person's own name kept."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from .checks import DOCX, PPTX, XLSX

MAX_FILENAME = 120
# Path separators, control characters and quotes never reach a header or a file system.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/heic": "heic",
              DOCX: "docx", XLSX: "xlsx", PPTX: "pptx"}


def safe_filename(name: str | None, media_type: str) -> str:
    """A display name safe in a Content-Disposition header and on any disk; never empty."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip(" ._") or "attachment"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 8 else base[:MAX_FILENAME]
    if "." not in base:
        base += "." + EXTENSIONS.get(media_type, "bin")
    return base


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback for old clients and RFC 5987's UTF-8 name for everyone else."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
