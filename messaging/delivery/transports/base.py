"""What every transport receives and returns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """One rendered send. ``idempotency_key`` is the same on every retry of one delivery."""

    channel: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    idempotency_key: str | None = None
    message_public_id: str | None = None
    delivery_id: int | None = None
    speak: str | None = None  # voice: what to say


@dataclass(frozen=True)
class SendResult:
    provider_id: str | None = None


class TransportError(Exception):
    """A send that did not go through. ``retryable`` False fails the delivery at once."""

    def __init__(self, message: str, retryable: bool = True, code: str | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.code = code
