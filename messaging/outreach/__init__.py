"""Outreach: the one-to-many side — broadcasts (one template to one or more segments) and campaign
sequences (a segment enrolled into ordered, delayed steps). Every recipient gets an ordinary
``Message``, decided by the ladder, encrypted and delivered by the engine like a one-off.

May import: the top-level modules (``messages`` included), ``security``, ``policy``, ``rendering``,
``people`` and ``audience``. Must not import ``delivery``, ``client`` or any face: the scheduler
starts the passes, the engine sends what they queue.
"""
