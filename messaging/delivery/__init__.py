"""Delivery: the engine that turns queued ``Delivery`` rows into sends, and everything that paces them.

Holds ``engine`` (a pass: each row's way from claimed to sent, with the state machine and the
exactly-once argument in its docstring), ``claim`` (claiming due rows with a lease), ``outcomes``
(sent, retried with backoff, failed, suppressed, cancelled, deferred; an admin's retry), pacing
per channel, quiet hours, the re-notify ladder, provider status callbacks, the APScheduler wiring
and ``transports`` (outbox, SMTP, Twilio; each satisfies ``transports.base.Transport``).

May import: the top-level modules, ``policy``, ``security``, ``rendering``, ``client.codes``
(a code's sealed payload is rendered at send), ``people.consent`` (a withdrawn consent
suppresses at send) and ``audience.import_runner`` (the scheduler runs pending imports).
Must not import the rest of ``people`` or any face.
"""
