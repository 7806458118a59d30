"""Transports by channel, chosen by configuration (``SMS_TRANSPORT``, ``EMAIL_TRANSPORT``, ``VOICE_TRANSPORT``).

Every transport satisfies ``Transport`` (transports/base.py): ``send(Outgoing) -> SendResult``
(raising TransportError), ``transactional`` (True when the send is part of the engine's database
transaction, as the outbox's is) and ``max_send_seconds`` (the longest a send may take; the engine
sends only while its lease outlasts it).
"""
from __future__ import annotations

from flask import current_app

from messaging.delivery.transports.base import Outgoing, SendResult, Transport, TransportError
from messaging.delivery.transports.outbox import OutboxTransport

CONFIG_KEYS = {"sms": "SMS_TRANSPORT", "email": "EMAIL_TRANSPORT", "voice": "VOICE_TRANSPORT"}
ALLOWED = {"sms": ("outbox", "twilio"), "email": ("outbox", "smtp"), "voice": ("outbox", "twilio")}


def transport_for(channel: str) -> Transport:
    """The configured transport of a channel, built once per app."""
    if channel not in CONFIG_KEYS:
        raise RuntimeError(f"no transport for the channel {channel!r}")
    name = current_app.config[CONFIG_KEYS[channel]].strip().lower()
    cache = current_app.extensions.setdefault("sealed.transports", {})
    key = (channel, name)
    if key not in cache:
        cache[key] = _build(name, channel, current_app.config)
    return cache[key]


def _build(name: str, channel: str, config) -> Transport:
    if name not in ALLOWED.get(channel, ()):
        raise RuntimeError(f"unknown transport {name!r} for {channel}; choose one of "
                           + ", ".join(ALLOWED.get(channel, ("outbox",))))
    if name == "outbox":
        return OutboxTransport()
    if name == "smtp":
        from messaging.delivery.transports.smtp import SmtpTransport

        return SmtpTransport.from_config(config)
    from messaging.delivery.transports.twilio_transport import TwilioTransport

    return TwilioTransport.from_config(config)


__all__ = ["Outgoing", "SendResult", "Transport", "TransportError", "transport_for"]
