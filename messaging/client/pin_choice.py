"""A client's own PIN, chosen on the secure page right after a one-time code: staff never know it.

A contact without a PIN who opens a PIN-protected message proves who they are with a code sent to
the number or address on file; that proof lets the new session choose a PIN (or skip: the next
message asks again). The same holds after "Forgot my PIN": the code lets them choose a new one.
Only a session that a code just opened may do it, for a few minutes: a session opened with a date
of birth, or one left open on a shared computer, must not replace a PIN.
"""
from __future__ import annotations

from datetime import timedelta

from messaging import clock
from messaging.audit import Actor
from messaging.client.sessions import end_contact_sessions
from messaging.errors import Conflict
from messaging.events import record_event
from messaging.models import Message, ViewerSession
from messaging.people.contacts import set_contact_pin
from messaging.security.pins import InvalidPin, validate_pin
from messaging.settings import get_settings

# Long enough to read the page and type a PIN twice; a session left longer must prove itself again.
CHOICE_WINDOW = timedelta(minutes=10)


class PinsDiffer(ValueError):
    """The PIN and its confirmation are not the same."""


def client_may_choose(message: Message) -> bool:
    """Whether a code on this message may be followed by choosing the contact's PIN.

    Only a message protected by the contact's PIN: a date-of-birth or code-only message never asks.
    """
    return (get_settings().client_sets_pin and message.require_pin and message.pin_method == "contact_pin"
            and message.contact.erased_at is None)


def offer_choice(session: ViewerSession, message: Message) -> bool:
    """After a right one-time code: let ``session`` choose the PIN for a while, when allowed. Commits nothing."""
    if not client_may_choose(message):
        return False
    session.pin_choice_until = clock.utcnow() + CHOICE_WINDOW
    return True


def choice_pending(session: ViewerSession | None) -> bool:
    """Whether ``session`` is still being asked to choose a PIN."""
    return (session is not None and session.pin_choice_until is not None
            and session.pin_choice_until > clock.utcnow() and get_settings().client_sets_pin)


def _client(message: Message, ip: str | None) -> Actor:
    # Audit entries name contacts by id only.
    return Actor(label=f"client:contact-{message.contact_id}", role="client", address=ip)


def choose_pin(session: ViewerSession, message: Message, pin: str, confirmation: str, ip: str | None) -> None:
    """Set the PIN the client typed twice, audited as theirs. Raises InvalidPin, PinsDiffer or Conflict.

    The bounds and refusals are the staff's (messaging.security.pins), with the contact's year of birth.
    """
    if not choice_pending(session) or session.contact_id != message.contact_id:
        raise Conflict("This page no longer lets you choose a PIN.", code="pin_choice_closed")
    validate_pin(pin, message.contact.date_of_birth)
    if pin != confirmation:
        raise PinsDiffer("The two PINs are not the same.")
    replaced = message.contact.has_pin
    session.pin_choice_until = None
    if replaced:  # whoever else holds a session opened with the old PIN proves themselves again
        end_contact_sessions(message.contact, "pin_changed", keep=session)
    record_event(message, "pin_chosen", ip=ip, replaced=True if replaced else None)
    set_contact_pin(_client(message, ip), message.contact, pin, set_by="client")  # audits: last


def skip_choice(session: ViewerSession, message: Message, ip: str | None) -> None:
    """The client chose "Not now": no PIN this time; the next message asks again. Commits nothing."""
    if session.pin_choice_until is None:
        return
    session.pin_choice_until = None
    record_event(message, "pin_choice_skipped", ip=ip, had_pin=True if message.contact.has_pin else None)


__all__ = ["CHOICE_WINDOW", "InvalidPin", "PinsDiffer", "choice_pending", "choose_pin", "client_may_choose",
           "offer_choice", "skip_choice"]
