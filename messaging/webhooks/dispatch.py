"""STUB (owned by the webhooks helper)."""
from __future__ import annotations


def dispatch_webhooks_until_idle(max_seconds: float = 30.0) -> int:
    """Post due webhook deliveries until none is due or the time is up; returns how many were posted."""
    return 0
