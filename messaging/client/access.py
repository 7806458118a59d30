"""The client's side of a secure message: resolve the link, prove identity, read, reply.

Nothing here consumes anything on a plain open: mail and SMS apps fetch links to build
previews, so only an explicit submit (PIN form or "Open message") counts as a view.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from messaging import clock
from messaging.client.codes import IssuedCode, check_code, issue_code
from messaging.client.links import MAX_LINK_AGE_SECONDS, resolve_link  # noqa: F401 (re-exported for the viewer)
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.events import record_event
from messaging.models import Message, MessageEvent
from messaging.security.crypto import encrypt_content, keyring
from messaging.security.lockout import active_lock, claim_pin_attempt, clear_message_lock
from messaging.security.pins import check_contact_pin
from messaging.settings import get_settings
from messaging.webhooks import emit

MAX_REPLY_LENGTH = 5000
# Opens of one link within this window share one link_opened row (its count grows instead).
LINK_OPEN_WINDOW = timedelta(minutes=5)


def note_link_opened(message: Message, ip: str | None) -> None:
    """A GET of the link: a person or a link scanner saw the landing page. Consumes nothing.

    Repeated opens within a few minutes add to the last row's count instead of adding rows,
    so the count stays useful and a reload loop cannot grow the table.
    """
    now = clock.utcnow()
    last = db.session.execute(
        db.select(MessageEvent).where(MessageEvent.message_id == message.id, MessageEvent.kind == "link_opened",
                                      MessageEvent.at > now - LINK_OPEN_WINDOW)
        .order_by(MessageEvent.id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        record_event(message, "link_opened", ip=ip, opens=1)
        return
    detail = dict(last.detail or {})
    detail["opens"] = int(detail.get("opens", 1)) + 1
    detail["last_at"] = now.isoformat()
    last.detail = detail  # a new dict, so the JSON column is seen as changed


def identity_method(message: Message) -> str | None:
    """How the reader proves who they are: None, ``contact_pin``, ``date_of_birth`` or ``one_time_code``.

    Message.pin_method holds what was decided at send time; a contact whose PIN or date of birth
    was cleared since then gets a one-time code rather than a form no answer can pass.
    """
    if not message.require_pin:
        return None
    if message.pin_method == "date_of_birth":
        return "date_of_birth" if message.contact.date_of_birth is not None else "one_time_code"
    if message.pin_method == "one_time_code" or not message.contact.has_pin:
        return "one_time_code"
    return "contact_pin"


def attempts_left(message: Message) -> int:
    """Wrong PINs still allowed before the message locks (the full allowance once a lock ran out)."""
    limit = get_settings().max_pin_attempts
    now = clock.utcnow()
    used = 0
    for failures, until in ((message.pin_failures, message.locked_until),
                            (message.contact.pin_failures, message.contact.pin_locked_until)):
        if until is not None and until <= now:
            failures = 0  # that lock ran out: its count starts afresh
        used = max(used, failures or 0)
    return max(0, limit - used)


@dataclass(frozen=True)
class PinOutcome:
    """The result of one PIN or code attempt: accepted, or locked until, or attempts left."""

    ok: bool
    locked_until: datetime | None = None
    attempts_left: int | None = None
    # Set when a one-time code cannot be tried any more (too many wrong answers, expired, none sent).
    code_refused: str | None = None


def check_pin_attempt(message: Message, candidate: str, ip: str | None) -> PinOutcome:
    """Check the contact's PIN: claim the attempt first, then spend the slow hash on it.

    Commits the claim before checking (see messaging.security.lockout); the caller commits the outcome.
    """
    return _claimed_check(message, ip, "pin", lambda: check_contact_pin(message.contact, candidate))


def check_dob_attempt(message: Message, day: int, month: int, year: int, ip: str | None) -> PinOutcome:
    """Check a date of birth under the same claimed counters as the PIN.

    A date has far fewer possible answers than a PIN, so a wrong one must cost the same allowance:
    guesses are capped per message and per contact, whichever way the contact is asked.
    """
    def matches() -> bool:
        try:
            return date(year, month, day) == message.contact.date_of_birth
        except ValueError:
            return False
    return _claimed_check(message, ip, "date_of_birth", matches)


def _claimed_check(message: Message, ip: str | None, via: str, right: Callable[[], bool]) -> PinOutcome:
    settings = get_settings()
    method = None if via == "pin" else via
    claim = claim_pin_attempt(message, settings.max_pin_attempts, settings.lockout_minutes)
    if not claim.granted:
        record_event(message, "pin_failed", ip=ip, during_lock=True, method=method)
        return PinOutcome(ok=False, locked_until=active_lock(message))
    if right():
        _verified(message, ip, via=via, attempt=claim.attempt)
        return PinOutcome(ok=True)
    record_event(message, "pin_failed", ip=ip, attempt=claim.attempt, method=method)
    if claim.locks_until is not None:
        record_event(message, "locked", ip=ip, until=claim.locks_until.isoformat(),
                     lock_number=max(message.pin_lock_count, message.contact.pin_lock_count))
        return PinOutcome(ok=False, locked_until=claim.locks_until)
    return PinOutcome(ok=False, attempts_left=claim.attempts_left)


def check_code_attempt(message: Message, candidate: str, ip: str | None) -> PinOutcome:
    """Check a one-time code. It has its own claimed counter; a right code also lifts a PIN lock."""
    result = check_code(message, candidate)
    if result.ok:
        _verified(message, ip, via="code")
        return PinOutcome(ok=True)
    record_event(message, "pin_failed", ip=ip, method="one_time_code", reason=result.refused)
    return PinOutcome(ok=False, attempts_left=result.attempts_left, code_refused=result.refused)


def _verified(message: Message, ip: str | None, via: str, attempt: int | None = None) -> None:
    was_locked = active_lock(message)
    clear_message_lock(message)
    record_event(message, "verified", ip=ip, via=via, attempt=attempt, lifted_lock=True if was_locked else None)


def request_code(message: Message, ip: str | None, channel: str | None = None) -> IssuedCode:
    """The reader's "send me a code", whatever the message's method and also during a lock.

    A code to a number or address on file proves possession of it, so it is the fallback for a
    forgotten PIN, an unknown date or a channel the reader cannot reach, and it may open a locked
    message. ``channel`` picks one of the contact's routes (see code_routes).
    """
    return issue_code(message, ip, channel=channel)


def mark_viewed(message: Message, ip: str | None) -> None:
    """The content was shown: the first view sets viewed_at; every view is an event."""
    now = clock.utcnow()
    if message.viewed_at is None:
        message.viewed_at = now
        emit("message.viewed", message_id=message.public_id, contact_id=message.contact_id, status=message.status,
             channel=message.channel, mode=message.mode)
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
    db.session.flush()  # the reply's public id, for the event
    emit("message.replied", message_id=message.public_id, reply_id=reply.public_id, contact_id=message.contact_id,
         channel="web")
    return reply
