"""STUB (owned by the webhooks helper)."""
from __future__ import annotations


def emit(event_type: str, **data) -> None:
    """Write an event and a delivery for each endpoint subscribed to its type (in the caller's transaction)."""
