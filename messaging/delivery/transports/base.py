"""What every transport receives and returns, and the interface it declares (``Transport``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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
    language: str = "en"  # the contact's: a call speaks it


@dataclass(frozen=True)
class SendResult:
    """A send the provider accepted, with the provider's id for it (a Twilio SID, a Message-ID)."""

    provider_id: str | None = None


class TransportError(Exception):
    """A send that did not go through. ``retryable`` False fails the delivery at once."""

    def __init__(self, message: str, retryable: bool = True, code: str | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.code = code


@runtime_checkable
class Transport(Protocol):
    """What the engine needs of a transport (outbox, SMTP, Twilio, or a test's stand-in)."""

    name: str
    # True when a send is part of the engine's database transaction (the outbox): the engine then
    # commits once per batch instead of once per row.
    transactional: bool
    # The longest one send may take; the engine starts a send only while its lease outlasts this.
    max_send_seconds: float

    def send(self, outgoing: Outgoing) -> SendResult:
        """Hand one rendered send to the provider; raise TransportError when it does not go through."""
        ...
