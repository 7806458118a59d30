"""Signed event webhooks: endpoints admins register, events written beside what they report, and a
dispatcher that posts them signed, at least once, with the engine's claim, lease and backoff.

``endpoints`` registers (https only; private targets refused) and lists; ``events`` writes an event
and one delivery per subscribed endpoint (``emit``); ``signing`` makes the ``Sealed-Signature``
header; ``dispatch`` claims due deliveries and posts them.

May import only the foundation and ``security``.
"""
from messaging.webhooks.events import emit

__all__ = ["emit"]
