"""STUB (owned by the privacy helper)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ErasureReport:
    """What erasing one contact did."""

    contact_id: int
    messages: int = 0

    def summary(self) -> str:
        """One line for the CLI."""
        return f"Erased contact {self.contact_id}: {self.messages:,} messages' content destroyed."


def erase_contact(actor, contact_id: int) -> ErasureReport:
    """Erase one contact (GDPR article 17)."""
    raise NotImplementedError
