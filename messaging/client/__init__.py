"""The client's side: opening a secure link, proving identity (PIN, one-time code, date of birth), the
verified client's session and secure thread, replies, link lifetimes and re-issue, inbound SMS, and
the per-contact conversation thread that joins them for staff.

May import: the top-level modules, ``security``, ``policy``, ``people``, ``attachments`` (the files
a thread shows) and ``delivery.transports.base`` (for ``TransportError``). Must not import the
delivery engine or any face.
"""
