"""The refusal every new message to an erased contact meets (called where messages are validated)."""
from __future__ import annotations

from messaging.errors import ValidationFailed
from messaging.models import Contact


def refuse_erased(contact: Contact) -> None:
    """ValidationFailed (code ``contact_erased``) when the contact was erased: nothing may be sent to them."""
    if contact is not None and contact.erased_at is not None:
        when = contact.erased_at.strftime("%Y-%m-%d")
        raise ValidationFailed(
            f"Contact {contact.id} was erased on {when} (GDPR): they cannot be messaged.",
            {"contact_id": f"this contact was erased on {when} and cannot be messaged"}, code="contact_erased")
