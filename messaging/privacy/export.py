"""STUB (owned by the privacy helper)."""
from __future__ import annotations


def export_contact(actor, contact_id: int) -> dict:
    """Everything about one contact as a JSON-ready document; audited as an export."""
    raise NotImplementedError
