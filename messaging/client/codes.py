"""One-time codes: a 6-digit code sent over the contact's other channel to open a protected message.

A code lives 10 minutes, is stored only as an argon2 hash, can be used once, and a newer code
replaces the older ones. The plain code exists in exactly one other place until it is sent: the
code delivery's sealed payload, because deliveries are rendered at send time. The delivery engine
clears that payload in the transaction that records the send; a failed attempt keeps it for the retry.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext, ngettext
from sqlalchemy import func, update

from messaging import clock
from messaging.db import db
from messaging.delivery.transports.base import TransportError
from messaging.errors import Conflict
from messaging.events import record_event
from messaging.models import Contact, Delivery, Message, OneTimeCode
from messaging.people.consent import has_consent
from messaging.security.crypto import keyring
from messaging.security.passwords import hash_secret, verify_secret

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
RESEND_INTERVAL = timedelta(seconds=60)
MAX_CODES_PER_HOUR = 5  # per contact: each code is an SMS or e-mail someone pays for; the limit stops a pump
MAX_CODE_FAILURES = 3  # wrong answers one code takes before it is spent
OTHER_CHANNEL = {"sms": "email", "email": "sms"}
CHANNEL_LABELS = {"sms": "text message", "email": "e-mail"}


class CodeRefused(Conflict):
    """A code cannot be sent now; ``retry_after`` says in how many seconds one can, when known."""

    code = "code_refused"

    def __init__(self, message: str, retry_after: int | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeRoute:
    """Where a code goes. ``same_channel`` is True when the contact has no other channel."""

    channel: str
    address: str
    same_channel: bool

    @property
    def masked_address(self) -> str:
        return mask_address(self.channel, self.address)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)


@dataclass(frozen=True)
class IssuedCode:
    """A one-time code just queued: the route it goes by and when it expires."""

    route: CodeRoute
    expires_at: object  # naive UTC datetime


def mask_address(channel: str, address: str) -> str:
    """Enough of an address for the client to recognise it, not enough to learn it from the page."""
    if channel == "email" and "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:1]}***@{domain}"
    digits = address.strip()
    return f"•••{digits[-4:]}" if len(digits) > 4 else "•••"


def _usable(contact, channel: str) -> str | None:
    # A contact who withdrew consent on a channel (STOP for sms) gets nothing there, not even a
    # code they ask for: the code goes by the other channel, or not at all.
    address = contact.email if channel == "email" else contact.phone if channel == "sms" else None
    return address if address and has_consent(contact, channel, "transactional") else None


def code_routes(message: Message) -> list[CodeRoute]:
    """Every address on file that can carry a code: the other channel first, then the link's own.

    The reader picks one when they cannot reach the first (a phone left at home, an old inbox).
    """
    contact = message.contact
    other = OTHER_CHANNEL.get(message.channel)
    routes = []
    for channel in (other, message.channel) if other else (message.channel,):
        address = _usable(contact, channel) if channel in OTHER_CHANNEL else None
        if address:
            routes.append(CodeRoute(channel, address, same_channel=channel == message.channel))
    return routes


def code_route(message: Message, channel: str | None = None) -> CodeRoute | None:
    """The route a code takes: ``channel``'s when it is on file, else the first of code_routes.

    None when there is no channel at all that can carry a code.
    """
    routes = code_routes(message)
    for route in routes:
        if route.channel == channel:
            return route
    return routes[0] if routes else None


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def issue_code(message: Message, ip: str | None, channel: str | None = None) -> IssuedCode:
    """Create a code, queue its delivery (over ``channel`` when on file, else the other channel), record ``code_sent``.

    Refused (CodeRefused) when the last code is younger than a minute, when too many codes were
    sent this hour, or when no channel can carry it. Commits nothing.
    """
    now = clock.utcnow()
    route = code_route(message, channel)
    if route is None:
        raise CodeRefused("We have no phone number or e-mail address to send a code to. "
                          "Please contact the sender.", code="no_channel")
    last = db.session.execute(
        db.select(func.max(OneTimeCode.created_at)).where(OneTimeCode.message_id == message.id)).scalar()
    if last is not None and now - last < RESEND_INTERVAL:
        wait = int((RESEND_INTERVAL - (now - last)).total_seconds()) + 1
        raise CodeRefused(f"A code was sent moments ago. You can ask for another in {wait} seconds.",
                          retry_after=wait, code="too_soon")
    # Codes are capped per contact, across all of its links. Taking the contact's row lock first
    # (a no-op UPDATE: a write lock on SQLite, a row lock on PostgreSQL) makes the count and the
    # insert one step, so parallel requests cannot each see room for one more.
    db.session.execute(update(Contact).where(Contact.id == message.contact_id)
                       .values(updated_at=Contact.updated_at).execution_options(synchronize_session=False))
    recent = db.session.execute(
        db.select(func.count(OneTimeCode.id)).join(Message, Message.id == OneTimeCode.message_id)
        .where(Message.contact_id == message.contact_id,
               OneTimeCode.created_at > now - timedelta(hours=1))).scalar()
    if recent >= MAX_CODES_PER_HOUR:
        raise CodeRefused("Too many codes were sent to you in the last hour. "
                          "Please try again later.", retry_after=3600, code="too_many")

    # A newer code replaces the older ones, so exactly one code is live at a time.
    db.session.execute(update(OneTimeCode)
                       .where(OneTimeCode.message_id == message.id, OneTimeCode.used_at.is_(None),
                              OneTimeCode.expires_at > now)
                       .values(expires_at=now).execution_options(synchronize_session=False))
    code = _new_code()
    expires_at = now + CODE_LIFETIME
    db.session.add(OneTimeCode(message_id=message.id, code_hash=hash_secret(code), channel=route.channel,
                               created_at=now, expires_at=expires_at))
    db.session.add(Delivery(message=message, kind="code", channel=route.channel, to_address=route.address,
                            next_attempt_at=now, payload_ciphertext=keyring().seal({"code": code})))
    record_event(message, "code_sent", ip=ip, channel=route.channel, same_channel=route.same_channel)
    return IssuedCode(route=route, expires_at=expires_at)


def live_code(message: Message) -> OneTimeCode | None:
    """The message's current code, if one is unused and unexpired."""
    return db.session.execute(
        db.select(OneTimeCode).where(OneTimeCode.message_id == message.id, OneTimeCode.used_at.is_(None),
                                     OneTimeCode.expires_at > clock.utcnow())
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1)).scalar_one_or_none()


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of one code answer: ok, or why not and how many answers the code has left."""

    ok: bool
    attempts_left: int = 0
    refused: str | None = None  # "no_code" (none live) or "spent" (too many wrong answers)


def check_code(message: Message, candidate: str) -> CodeCheck:
    """Check an answer against the live code; each answer is claimed before the slow hash runs.

    The claim (``failures < MAX_CODE_FAILURES``, rowcount checked) is committed first, so parallel
    answers cannot try a code more than three times; the use is a second claim (``used_at IS NULL``),
    so two requests racing with the right code cannot both open the message.
    """
    candidate = (candidate or "").strip().replace(" ", "")
    code = live_code(message)
    if code is None:
        return CodeCheck(ok=False, refused="no_code")
    claimed = db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == code.id, OneTimeCode.used_at.is_(None),
                                  OneTimeCode.expires_at > clock.utcnow(), OneTimeCode.failures < MAX_CODE_FAILURES)
        .values(failures=OneTimeCode.failures + 1).execution_options(synchronize_session=False))
    # Read our own count before committing: later claims from parallel requests are not ours.
    failures = db.session.execute(db.select(OneTimeCode.failures).where(OneTimeCode.id == code.id)).scalar()
    db.session.commit()
    if claimed.rowcount != 1:
        return CodeCheck(ok=False, refused="spent")
    if verify_secret(code.code_hash, candidate):
        used = db.session.execute(
            update(OneTimeCode).where(OneTimeCode.id == code.id, OneTimeCode.used_at.is_(None))
            .values(used_at=clock.utcnow(), failures=OneTimeCode.failures - 1)
            .execution_options(synchronize_session=False))
        if used.rowcount == 1:
            return CodeCheck(ok=True)
        return CodeCheck(ok=False, refused="no_code")
    left = max(0, MAX_CODE_FAILURES - failures)
    return CodeCheck(ok=False, attempts_left=left)


def code_text(org_name: str, code: str) -> str:
    """What the client receives: the organisation and the code — never the link or the content."""
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    # In the contact's language: the engine renders deliveries under rendering.language.speaking.
    return ngettext("%(org)s: your code is %(code)s. It expires in %(num)d minute.",
                    "%(org)s: your code is %(code)s. It expires in %(num)d minutes.", minutes, org=org_name, code=code)


def render_code_delivery(delivery: Delivery, org_name: str) -> tuple[str | None, str]:
    """(subject, text) of a code delivery, unsealed at send time."""
    code = keyring().unseal(delivery.payload_ciphertext)["code"] if delivery.payload_ciphertext else None
    if not code:
        # Not worth retrying: the code is gone, and the client can ask for a new one.
        raise TransportError(f"code delivery {delivery.id} has no sealed code", retryable=False,
                             code="no_code")
    subject = gettext("Your code from %(org)s", org=org_name) if delivery.channel == "email" else None
    return subject, code_text(org_name, code)
