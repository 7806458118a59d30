"""PIN lockouts: an attempt is claimed before it is checked, per message and per contact.

A contact's PIN is one secret across all of its links, so wrong guesses are counted on the
contact as well as on the message: ``max_pin_attempts`` wrong answers across every link lock
them all. Checking a PIN costs an argon2 hash (~100 ms), long enough for twenty parallel
requests to all read "not locked" from a loaded row. So an attempt is first *claimed* by one
conditional UPDATE per row (``… WHERE failures < limit``, rowcount checked) and committed, and
only a granted claim is checked. The claim that reaches the limit sets the lock in the same
statement, so a crash between claim and check leaves a lock that ends by itself, never a row
that nobody may try again. A right answer clears the counters; a wrong one leaves its claim
counted. However many requests arrive at once, at most ``max_pin_attempts`` guesses are
evaluated per lock period.

Locks grow: the n-th consecutive lock lasts ``lockout_minutes × 4^(n−1)``, capped at 24 hours,
until a successful verification (PIN or one-time code) or a staff unlock resets the count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Contact, Message

MAX_LOCK = timedelta(hours=24)
GROWTH = 4


def lock_duration(lockout_minutes: int, earlier_locks: int) -> timedelta:
    """How long the next lock lasts after ``earlier_locks`` consecutive ones: ×4 each time, at most 24 h."""
    minutes = lockout_minutes * GROWTH ** max(0, earlier_locks)
    return min(timedelta(minutes=minutes), MAX_LOCK)


def _lock_end(lock_count_column, lockout_minutes: int, now: datetime):
    """SQL for "now + the next lock's duration" given the row's own count of earlier locks."""
    whens, earlier = {}, 0
    while lock_duration(lockout_minutes, earlier) < MAX_LOCK:
        whens[earlier] = now + lock_duration(lockout_minutes, earlier)
        earlier += 1
    if not whens:
        return now + MAX_LOCK
    return case(whens, value=lock_count_column, else_=now + MAX_LOCK)


def active_lock(message: Message, now: datetime | None = None) -> datetime | None:
    """When the lock on this message ends — its own or its contact's, whichever is later — or None.

    A contact's PIN lock holds on each of its messages that asks for proof of identity; a lock
    that has run out is no lock.
    """
    now = now or clock.utcnow()
    candidates = [message.locked_until]
    if message.require_pin:
        candidates.append(message.contact.pin_locked_until)
    ends = [until for until in candidates if until is not None and until > now]
    return max(ends) if ends else None


def contact_lock(contact: Contact, now: datetime | None = None) -> datetime | None:
    """When the contact's PIN lock ends, or None."""
    now = now or clock.utcnow()
    until = contact.pin_locked_until
    return until if until is not None and until > now else None


def _claim_row(model, failures, locked, lock_count, row_id: int, limit: int, lockout_minutes: int,
               now: datetime):
    """One conditional UPDATE: count an attempt unless the row is locked or at its limit.

    Returns the row's (failures, locked_until) as this claim left them, or None when refused.
    RETURNING reads them in the same statement, so they are ours, not a parallel claim's.
    """
    lock_ran_out = and_(locked.is_not(None), locked <= now)
    counted = case((lock_ran_out, 1), else_=failures + 1)
    reaches_limit = counted >= limit
    return db.session.execute(
        update(model)
        .where(model.id == row_id,
               or_(lock_ran_out, and_(locked.is_(None), failures < limit)))
        .values({failures: counted,
                 locked: case((reaches_limit, _lock_end(lock_count, lockout_minutes, now)), else_=None),
                 lock_count: case((reaches_limit, lock_count + 1), else_=lock_count)})
        .returning(failures, locked)
        .execution_options(synchronize_session=False)).first()


def _lock_stuck_row(model, failures, locked, lock_count, row_id: int, limit: int, lockout_minutes: int,
                    now: datetime) -> None:
    # A row at its limit without a lock (the limit was lowered since): lock it so that it ends.
    db.session.execute(
        update(model).where(model.id == row_id, locked.is_(None), failures >= limit)
        .values({locked: _lock_end(lock_count, lockout_minutes, now), lock_count: lock_count + 1})
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming one PIN attempt."""

    granted: bool
    # Set when this claim was the last one allowed: a wrong answer leaves the message locked until then.
    locks_until: datetime | None = None
    attempts_left: int = 0
    # This claim's number within its lock period (1..limit): two granted claims of one period never share it.
    attempt: int = 0


def claim_pin_attempt(message: Message, limit: int, lockout_minutes: int) -> Claim:
    """Claim one PIN attempt on the message and its contact, and commit the claim.

    Granted only when both rows are below the limit and unlocked. The commit makes the claim
    visible to parallel requests before the slow check starts.
    """
    now = clock.utcnow()
    contact_cols = (Contact, Contact.pin_failures, Contact.pin_locked_until, Contact.pin_lock_count)
    message_cols = (Message, Message.pin_failures, Message.locked_until, Message.pin_lock_count)
    contact_row = _claim_row(*contact_cols, message.contact_id, limit, lockout_minutes, now)
    message_row = contact_row and _claim_row(*message_cols, message.id, limit, lockout_minutes, now)
    if not message_row:
        db.session.rollback()
        if active_lock(message, now) is None:  # refused without a live lock: a row stuck at its limit
            for cols, row_id in ((contact_cols, message.contact_id), (message_cols, message.id)):
                _lock_stuck_row(*cols, row_id, limit, lockout_minutes, now)
            db.session.commit()
        return Claim(granted=False)
    db.session.commit()
    # A lock in what our own claim left was set by this claim: the limit was reached by it.
    ends = [until for _failures, until in (contact_row, message_row) if until is not None]
    used = max(contact_row[0], message_row[0])
    return Claim(granted=True, locks_until=max(ends) if ends else None, attempts_left=max(0, limit - used),
                 attempt=used)


def clear_message_lock(message: Message) -> None:
    """A successful verification: the message and its contact start afresh.

    Written as plain UPDATEs, not attribute sets: a parallel claim may have set a lock after this
    request loaded the rows, and the ORM would skip a column whose loaded value already matches.
    """
    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(pin_failures=0, locked_until=None, pin_lock_count=0)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Contact).where(Contact.id == message.contact_id)
                       .values(pin_failures=0, pin_locked_until=None, pin_lock_count=0)
                       .execution_options(synchronize_session=False))
    db.session.expire(message, ["pin_failures", "locked_until", "pin_lock_count"])
    db.session.expire(message.contact, ["pin_failures", "pin_locked_until", "pin_lock_count"])


def unlock_contact(actor: Actor, contact: Contact) -> int:
    """Staff lift a contact's PIN lock and the locks of all its messages (audited); messages unlocked."""
    was_locked_until = contact_lock(contact)
    contact.pin_failures = 0
    contact.pin_locked_until = None
    contact.pin_lock_count = 0
    result = db.session.execute(
        update(Message).where(Message.contact_id == contact.id,
                              or_(Message.locked_until.is_not(None), Message.pin_failures > 0))
        .values(pin_failures=0, locked_until=None, pin_lock_count=0)
        .execution_options(synchronize_session=False))
    audit(actor, "contact.unlock", "contact", contact.id, messages=result.rowcount,
          locked_until=was_locked_until.isoformat() if was_locked_until else None)
    return result.rowcount
