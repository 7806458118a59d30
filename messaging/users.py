"""Console users and API keys: creation, sign-in, passwords, and ending a user's sessions.

Sessions are revocable on the server: every console session carries the user's
``session_version`` from the moment of sign-in, and the console refuses a session whose version
is no longer the user's. ``end_sessions`` raises the version, so sign-out, a password change or
reset, deactivation and a role change each end every session of that user at once, however old
the cookie that carries it.
"""
from __future__ import annotations

import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email

from .audit import Actor, audit
from .clock import utcnow
from .crypto import keyring
from .db import db
from .errors import Conflict, ValidationFailed
from .models import ROLES, ApiKey, AuditEntry, User
from .passwords import hash_secret, verify_secret

MIN_PASSWORD_LENGTH = 12
# Long enough for any real address (RFC 5321), short enough that a typed-in novel stays out of the log.
MAX_EMAIL_LENGTH = 254
API_KEY_PREFIX = "sk_"
# Who a refused sign-in is recorded under: nobody has proved who they are.
SIGN_IN_ACTOR = Actor(label="anonymous", role="staff")


def create_user(actor: Actor, email: str, role: str, password: str) -> User:
    errors = {}
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors["email"] = str(exc)
    if role not in ROLES:
        errors["role"] = "must be admin or staff"
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if not errors and db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none():
        errors["email"] = "a user with this e-mail exists already"
    if errors:
        raise ValidationFailed("The user is not valid.", errors)
    user = User(email=email, role=role, password_hash=hash_secret(password))
    db.session.add(user)
    db.session.flush()
    audit(actor, "user.create", "user", user.id, email=email, role=role)
    return user


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def normalise_email(email: str | None) -> str:
    """A typed sign-in e-mail as it is looked up, counted and logged: trimmed and lower-cased."""
    return (email or "").strip().lower()[:MAX_EMAIL_LENGTH]


def _user_by_email(email: str) -> User | None:
    if not email:
        return None
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Unknown e-mails cost the same time."""
    user = _user_by_email(normalise_email(email))
    ok = verify_secret(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def note_failed_login(email: str | None, address: str | None) -> AuditEntry:
    """Audit one refused sign-in (``user.login_failed``).

    Records the e-mail as typed (normalised), the account it names if any, why it was refused and a
    keyed hash of the client address: comparable between entries, not reversible. Never the password.
    """
    typed = normalise_email(email)
    user = _user_by_email(typed)
    reason = "unknown_email" if user is None else ("inactive" if not user.active else "wrong_password")
    return audit(SIGN_IN_ACTOR, "user.login_failed", "user" if user else None, user.id if user else None,
                 email=typed, reason=reason, ip_hash=keyring().keyed_hash(address) if address else None)


def end_sessions(user: User) -> int:
    """End every console session of ``user`` by raising its session version; the new version.

    The increment happens in SQL, so two changes at the same moment both count and neither can
    leave a session alive that the other meant to end.
    """
    user.session_version = User.session_version + 1
    db.session.flush()
    return user.session_version  # the attribute was expired by the flush: this reads the new value


def sign_out(actor: Actor, user: User) -> None:
    """Sign out: every session of the user ends, not only the one that asked, audited."""
    end_sessions(user)
    audit(actor, "user.logout", "user", user.id)


def password_problems(new: str | None, repeat: str | None) -> dict[str, str]:
    """What is wrong with a chosen password (``new_password``, ``confirm_password``); empty when it will do."""
    new = new or ""
    if len(new) < MIN_PASSWORD_LENGTH:
        return {"new_password": f"must be at least {MIN_PASSWORD_LENGTH} characters"}
    if new != (repeat or ""):
        return {"confirm_password": "does not match the new password"}
    return {}


def change_own_password(actor: Actor, user: User, current: str, new: str, repeat: str) -> int:
    """A user changes their own password, proving the current one; audited.

    Every session of the user ends (a thief holding an old cookie is locked out); the new session
    version is returned so the session that made the change can carry on with it.
    """
    errors = {}
    if not verify_secret(user.password_hash, current or ""):
        errors["current_password"] = "is not your current password"
    errors.update(password_problems(new, repeat))
    if not errors and new == current:
        errors["new_password"] = "must differ from your current password"
    if errors:
        raise ValidationFailed("Your password was not changed.", errors)
    user.password_hash = hash_secret(new)
    version = end_sessions(user)
    audit(actor, "user.password_change", "user", user.id)
    return version


def reset_password(actor: Actor, user: User) -> str:
    """An admin gives ``user`` a new generated password; returned once, never stored or logged.

    Every session of the user ends. Refused for the acting user's own account: changing one's own
    password asks for the current one, and a reset must not be a way around that.
    """
    if actor.user_id is not None and actor.user_id == user.id:
        raise Conflict("Change your own password on your account page: it asks for the current one.",
                       code="own_account")
    plain = generate_password()
    user.password_hash = hash_secret(plain)
    end_sessions(user)
    audit(actor, "user.password_reset", "user", user.id, email=user.email)
    return plain


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(actor: Actor, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored."""
    if not (name or "").strip():
        raise ValidationFailed("The key needs a name.", {"name": "is required"})
    if role not in ROLES:
        raise ValidationFailed("The role must be admin or staff.", {"role": "must be admin or staff"})
    plain = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name.strip(), role=role, prefix=plain[:10], key_hash=_key_hash(plain))
    db.session.add(key)
    db.session.flush()
    audit(actor, "api_key.create", "api_key", key.id, name=key.name, role=role)
    return key, plain


def find_api_key(plain: str) -> ApiKey | None:
    """The active key matching ``plain``. The lookup is by SHA-256, so timing reveals nothing useful."""
    if not plain or not plain.startswith(API_KEY_PREFIX):
        return None
    key = db.session.execute(db.select(ApiKey).filter_by(key_hash=_key_hash(plain))).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    return key
