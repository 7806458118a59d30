"""Signing a webhook body: ``Sealed-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.

The timestamp is inside the MAC so a captured post cannot be replayed later under a new time;
receivers compare in constant time and refuse timestamps far from their clock.
"""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_VERSION = "v1"


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``Sealed-Signature`` header value for ``body`` posted at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def headers_for(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of one post: content type, event id, timestamp and signature."""
    return {"Content-Type": "application/json", "User-Agent": "Sealed-Webhooks/1",
            "Sealed-Event-Id": event_id, "Sealed-Timestamp": str(timestamp),
            "Sealed-Signature": signature(secret, timestamp, body)}
