"""The client's side of a secure message: resolve the link, prove identity, read, reply.

Nothing here consumes anything on a plain open: mail and SMS apps fetch links to build
previews, so only an explicit submit (PIN form or "Open message") counts as a view.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from .clock import utcnow
from .codes import CodeRefused, IssuedCode, code_checker, issue_code
from .crypto import encrypt_content, keyring
from .db import db
from .errors import Conflict, ValidationFailed
from .events import record_event
from .models import Message
from .pins import check_pin
from .settings import get_settings
from .tokens import read_link_token

# Links are also bounded by the message's own expires_at; this only caps the signature's age.
MAX_LINK_AGE_SECONDS = 91 * 24 * 3600
MAX_REPLY_LENGTH = 5000


def resolve_link(token: str) -> Message | None:
    """The message a link opens, or None when the token is tampered, expired, revoked or unknown."""
    claims = read_link_token(token, MAX_LINK_AGE_SECONDS)
    if claims is None:
        return None
    message = db.session.execute(db.select(Message).filter_by(public_id=claims.public_id)).scalar_one_or_none()
    if message is None or message.direction != "out" or message.mode != "secure":
        return None
    if message.revoked_at is not None or message.status in ("cancelled", "revoked", "suppressed"):
        return None
    if claims.version != message.token_version:
        return None
    if message.expires_at is not None and message.expires_at <= utcnow():
        return None
    return message


def note_link_opened(message: Message, ip: str | None) -> None:
    """A GET of the link: a person or a link scanner saw the landing page. Consumes nothing."""
    record_event(message, "link_opened", ip=ip)


def identity_method(message: Message) -> str | None:
    """How the reader proves who they are: None, ``contact_pin`` or ``one_time_code``.

    Message.pin_method holds what was decided at send time; a contact whose PIN was cleared since
    then gets a one-time code rather than a form no answer can pass.
    """
    if not message.require_pin:
        return None
    if message.pin_method == "one_time_code" or not message.contact.has_pin:
        return "one_time_code"
    return "contact_pin"


def attempts_left(message: Message) -> int:
    """Wrong answers still allowed before the message locks (the full allowance once a lock ran out)."""
    limit = get_settings().max_pin_attempts
    if message.locked_until is not None and locked_until(message) is None:
        return limit
    return max(0, limit - (message.pin_failures or 0))


@dataclass(frozen=True)
class PinOutcome:
    ok: bool
    locked_until: datetime | None = None
    attempts_left: int | None = None


def locked_until(message: Message) -> datetime | None:
    """When the current lock ends, or None. A lock always ends by itself."""
    if message.locked_until is not None and message.locked_until > utcnow():
        return message.locked_until
    return None


def check_identity(message: Message, candidate: str, ip: str | None, contact_pin_hash: str | None,
                   code_checker=None) -> PinOutcome:
    """Check a PIN (or one-time code through ``code_checker``), counting wrong attempts.

    During a lock even the right PIN is refused. The failure counter is incremented in SQL so
    concurrent guesses cannot slip past the limit.
    """
    settings = get_settings()
    until = locked_until(message)
    if until is not None:
        record_event(message, "pin_failed", ip=ip, during_lock=True)
        return PinOutcome(ok=False, locked_until=until)
    if message.locked_until is not None:  # an earlier lock has run out: start afresh
        message.locked_until = None
        message.pin_failures = 0

    if code_checker is not None:
        ok = code_checker(candidate)
    else:
        ok = check_pin(contact_pin_hash, candidate)
    if ok:
        message.pin_failures = 0
        record_event(message, "verified", ip=ip)
        return PinOutcome(ok=True)

    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(pin_failures=Message.pin_failures + 1))
    db.session.refresh(message, ["pin_failures"])
    record_event(message, "pin_failed", ip=ip)
    if message.pin_failures >= settings.max_pin_attempts:
        message.locked_until = utcnow() + timedelta(minutes=settings.lockout_minutes)
        message.pin_failures = 0
        record_event(message, "locked", ip=ip, until=message.locked_until.isoformat())
        return PinOutcome(ok=False, locked_until=message.locked_until)
    return PinOutcome(ok=False, attempts_left=settings.max_pin_attempts - message.pin_failures)


def prove_identity(message: Message, candidate: str, ip: str | None) -> PinOutcome:
    """Check the contact's PIN or the live one-time code, whichever the message asks for."""
    if identity_method(message) == "one_time_code":
        return check_identity(message, candidate, ip, None, code_checker=code_checker(message))
    return check_identity(message, candidate, ip, message.contact.pin_hash)


def request_code(message: Message, ip: str | None) -> IssuedCode:
    """The reader's "send me a code". Refused (CodeRefused) during a lock and where no code is used."""
    if identity_method(message) != "one_time_code":
        raise CodeRefused("This message is opened with your PIN, not a code.", code="not_code_method")
    until = locked_until(message)
    if until is not None:
        raise CodeRefused("This message is locked after too many wrong attempts.", code="locked")
    return issue_code(message, ip)


def mark_viewed(message: Message, ip: str | None) -> None:
    """The content was shown: the first view sets viewed_at; every view is an event."""
    now = utcnow()
    if message.viewed_at is None:
        message.viewed_at = now
    record_event(message, "viewed", ip=ip)


def add_reply(message: Message, text: str, ip: str | None) -> Message:
    """The client's reply: encrypted under its own data key, joined to the contact's thread."""
    if not get_settings().replies_allowed:
        raise Conflict("Replies are turned off.", code="replies_disabled")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write a reply first.", {"body": "is required"})
    if len(text) > MAX_REPLY_LENGTH:
        raise ValidationFailed(f"A reply can be at most {MAX_REPLY_LENGTH} characters.",
                               {"body": f"must be at most {MAX_REPLY_LENGTH} characters"})
    data_key, wrapped = keyring().new_data_key()
    reply = Message(contact_id=message.contact_id, direction="in", channel="web", mode="secure",
                    require_pin=False, status="received", reply_to=message, data_key=wrapped,
                    body_ciphertext=encrypt_content(data_key, text), situation_id=message.situation_id)
    db.session.add(reply)
    record_event(message, "replied", ip=ip)
    return reply
