"""TOTP two-factor sign-in (RFC 6238, 30-second steps, 6 digits) and one-time recovery codes.

The secret is sealed under the master keys (``Keyring.seal``) and stored only once enrolment is
confirmed with a first good code, so a half-finished enrolment never locks anyone out. A code is
accepted for the step before, at and after the current one (clocks drift), and each step only
once: ``totp_last_step`` is raised by a conditional UPDATE, so two requests carrying one code at
the same moment cannot both pass. Recovery codes are 10 random codes shown once, stored as SHA-256
hashes (they carry 40 random bits and are rate-limited like sign-ins, so a slow hash buys
nothing); a used one is removed under the user row's write lock, so it works once.

Who must use it follows the ``two_factor`` setting: ``off`` nobody, ``admins`` admins, ``all``
everyone; a user who enrolled on their own is asked for a code whatever the setting.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import or_, update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.models import User
from messaging.security.crypto import keyring
from messaging.settings import get_settings

ISSUER = "Sealed"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
EPOCH = datetime(1970, 1, 1)  # naive, like every time the clock gives
WRONG_CODE = "is not a valid code: type the 6 digits your authenticator app shows now, or an unused recovery code"


def required_for(user: User, policy: str | None = None) -> bool:
    """Whether the ``two_factor`` setting makes ``user`` sign in with a code."""
    policy = policy or get_settings().two_factor
    return policy == "all" or (policy == "admins" and user.role == "admin")


def is_enabled(user: User) -> bool:
    """Whether ``user`` has confirmed a TOTP enrolment."""
    return user.totp_enabled_at is not None and user.totp_secret_ciphertext is not None


def new_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def seal_secret(secret: str, user_id: int) -> str:
    """A secret under enrolment, sealed for keeping in a session until it is confirmed."""
    return keyring().seal({"totp": secret, "user": user_id}).decode()


def unseal_secret(token: str | None, user_id: int) -> str | None:
    """The secret ``seal_secret`` sealed for this user, or None (missing, forged or another user's)."""
    if not token:
        return None
    try:
        payload = keyring().unseal(token.encode())
    except Exception:  # noqa: BLE001 - any token we cannot open is no enrolment
        return None
    return payload.get("totp") if payload.get("user") == user_id else None


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _current_step() -> int:
    return int((clock.utcnow() - EPOCH).total_seconds() // STEP_SECONDS)


def matching_step(secret: str, code: str) -> int | None:
    """The time step (of now ±1) whose code is ``code``, or None."""
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = _current_step()
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):  # the RFC 6238 counter is the step
            found = step  # no early exit: the time taken does not say which step matched
    return found


def _secret_of(user: User) -> str:
    return keyring().unseal(user.totp_secret_ciphertext)["totp"]


def _claim_step(user: User, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) was already: True when this call got it."""
    claimed = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(user)
    return claimed == 1


def _code_hash(code: str) -> str:
    normalised = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_recovery_codes() -> tuple[list[str], list[str]]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, [_code_hash(code) for code in codes]


def _use_recovery_code(user: User, code: str) -> bool:
    digest = _code_hash(code)
    # Take the row's write lock first (SQLite and PostgreSQL), then read the list afresh: two
    # requests carrying one code queue here, and the second no longer finds it.
    db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=User.totp_last_step)
                       .execution_options(synchronize_session=False))
    db.session.refresh(user)
    hashes = list(user.recovery_code_hashes or [])
    match = next((h for h in hashes if hmac.compare_digest(h, digest)), None)
    if match is None:
        return False
    hashes.remove(match)
    user.recovery_code_hashes = hashes
    db.session.flush()
    return True


@dataclass(frozen=True)
class SecondFactor:
    """A checked second factor: ``kind`` is ``totp`` or ``recovery``; ``codes_left`` recovery codes remain."""

    kind: str
    codes_left: int


def check_second_factor(user: User, code: str) -> SecondFactor | None:
    """Check a sign-in's second factor (a TOTP code or a recovery code); None when it is wrong or used.

    A good code is spent (its step, or the recovery code) in the caller's transaction.
    """
    if not is_enabled(user):
        return None
    compact = "".join((code or "").split())
    if len(compact) == 6 and compact.isdigit():
        step = matching_step(_secret_of(user), compact)
        if step is not None and _claim_step(user, step):
            return SecondFactor("totp", len(user.recovery_code_hashes or []))
        return None
    if _use_recovery_code(user, compact):
        return SecondFactor("recovery", len(user.recovery_code_hashes or []))
    return None


def enable(actor: Actor, user: User, secret: str | None, code: str) -> list[str]:
    """Confirm an enrolment with a first code from the app; the recovery codes, to show once. Audited."""
    if is_enabled(user):
        raise Conflict("Two-factor sign-in is on already.", code="two_factor_enabled")
    step = matching_step(secret, code) if secret else None
    if step is None:
        raise ValidationFailed("Two-factor sign-in was not turned on.", {"code": WRONG_CODE})
    codes, hashes = _new_recovery_codes()
    user.totp_secret_ciphertext = keyring().seal({"totp": secret})
    user.totp_enabled_at = clock.utcnow()
    user.totp_last_step = step
    user.recovery_code_hashes = hashes
    audit(actor, "user.two_factor_enabled", "user", user.id)
    return codes


def _prove(user: User, code: str, what: str) -> None:
    if check_second_factor(user, code) is None:
        raise ValidationFailed(what, {"code": WRONG_CODE})


def regenerate_recovery_codes(actor: Actor, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working) after a current code; shown once. Audited."""
    _prove(user, code, "No new recovery codes were made.")
    codes, hashes = _new_recovery_codes()
    user.recovery_code_hashes = hashes
    audit(actor, "user.recovery_codes_regenerated", "user", user.id)
    return codes


def _clear(user: User) -> None:
    user.totp_secret_ciphertext = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = []


def disable(actor: Actor, user: User, code: str) -> None:
    """Turn off one's own two-factor sign-in after a current code; refused while the setting requires it."""
    if required_for(user):
        raise Conflict("Two-factor sign-in is required for your account by the organisation's settings.",
                       code="two_factor_required")
    _prove(user, code, "Two-factor sign-in was not turned off.")
    _clear(user)
    audit(actor, "user.two_factor_disabled", "user", user.id)


def reset(actor: Actor, user: User) -> None:
    """An admin removes another user's two-factor enrolment (lost phone and codes). Audited.

    Refused for the acting user's own account, which must prove a code to turn it off. The user
    enrols again at their next sign-in when the setting requires it.
    """
    if actor.user_id is not None and actor.user_id == user.id:
        raise Conflict("Turn off your own two-factor sign-in on your account page.", code="own_account")
    was_enabled = is_enabled(user)
    _clear(user)
    audit(actor, "user.two_factor_reset", "user", user.id, was_enabled=was_enabled)

