"""Signed event webhooks: endpoints admins register, events written beside what they report, and a
dispatcher that posts them signed, at least once, with the engine's claim, lease and backoff.

``urls`` decides where a post may go (https only; loopback, private and link-local hosts refused,
after resolving the name); ``endpoints`` registers, lists and deletes endpoints and reads their
logs; ``events`` writes an event and one delivery per subscribed endpoint (``emit``); ``signing``
makes the ``Sealed-Signature`` header; ``dispatch`` claims due deliveries, posts them and sends
again on request.

May import only the foundation and ``security``.
"""
from messaging.webhooks.events import emit

__all__ = ["emit"]
