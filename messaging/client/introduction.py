"""The plain explanation a contact meets on the first secure page they ever see, and never again.

It counts as seen only once the contact acts on that page (opens the message): link scanners in
mail and SMS apps fetch the landing page on their own, and must not use the explanation up.
"""
from __future__ import annotations

from messaging import clock
from messaging.models import Contact


def introduction_due(contact: Contact) -> bool:
    """Whether the contact's next secure page carries the explanation."""
    return contact.secure_intro_seen_at is None


def note_introduction_seen(contact: Contact) -> None:
    """The contact opened a message from a page that carried the explanation. Commits nothing."""
    if contact.secure_intro_seen_at is None:
        contact.secure_intro_seen_at = clock.utcnow()
