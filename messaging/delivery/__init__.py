"""Delivery: the engine that turns queued ``Delivery`` rows into sends, and everything that paces them.

Holds the engine (claim with a lease, send, record the outcome), pacing per channel, quiet hours,
the re-notify ladder, provider status callbacks, the APScheduler wiring and ``transports``
(outbox, SMTP, Twilio).

May import: the top-level modules, ``policy``, ``security``, ``rendering`` and ``client.codes``
(a code's sealed payload is rendered at send). Must not import ``people`` or any face.
"""
