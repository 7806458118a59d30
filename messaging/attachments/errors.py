"""The refusals of an upload; each face maps them to its own status (415, 413)."""
from __future__ import annotations

from messaging.errors import SealedError


class UnsupportedMedia(SealedError):
    """The file's content is none of the accepted types, whatever its name or declared type says."""

    code = "unsupported_media_type"


class TooLarge(SealedError):
    """One file is over the organisation's ``attachment_max_mb``."""

    code = "too_large"
