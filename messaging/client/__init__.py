"""The client's side: opening a secure link, proving identity (PIN, one-time code), replies, inbound SMS,
and the per-contact conversation thread that joins them.

May import: the top-level modules, ``security``, ``policy``, ``people`` and
``delivery.transports.base`` (for ``TransportError``). Must not import the delivery engine or any face.
"""
