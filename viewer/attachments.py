"""Attachment downloads for a verified client (built by the attachments work)."""
from __future__ import annotations

from .blueprint import bp  # noqa: F401 - routes register on the viewer's blueprint
