"""Console users and API keys: creation, sign-in, passwords, and ending a user's sessions.

Sessions are revocable on the server: every console session carries the user's
``session_version`` from the moment of sign-in, and the console refuses a session whose version
is no longer the user's. ``end_sessions`` raises the version, so sign-out, a password change or
reset, deactivation and a role change each end every session of that user at once, however old
the cookie that carries it. A deactivation or a role change ends them too, so a new role takes
effect on a fresh sign-in, never half-way through a session granted under the old one.
"""
from __future__ import annotations

import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.models import ROLES, ApiKey, AuditEntry, User
from messaging.security.crypto import keyring
from messaging.security.password_policy import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH  # the faces show it
from messaging.security.password_policy import password_weakness
from messaging.security.passwords import hash_secret, upgraded_hash, verify_secret
from messaging.security.two_factor import enable as enable_two_factor

# Long enough for any real address (RFC 5321), short enough that a typed-in novel stays out of the log.
MAX_EMAIL_LENGTH = 254
API_KEY_PREFIX = "sk_"
# Who a refused sign-in is recorded under: nobody has proved who they are.
SIGN_IN_ACTOR = Actor(label="anonymous", role="staff")


def create_user(actor: Actor, email: str, role: str, password: str) -> User:
    """Add a console user (e-mail, role, a password the policy accepts), audited."""
    errors = {}
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors["email"] = str(exc)
    if role not in ROLES:
        errors["role"] = "must be admin or staff"
    weakness = password_weakness(password, [email])
    if weakness:
        errors["password"] = weakness
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
    """A random password for a new or reset user, shown once."""
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
    fresh = upgraded_hash(user.password_hash, password)
    if fresh is not None:
        user.password_hash = fresh  # hashes made with older argon2 parameters move on at login
    return user


def record_sign_in(user: User, address: str | None, **detail) -> AuditEntry:
    """Note a completed sign-in (``user.login``): the user's last sign-in time and an audit entry.

    Called once every factor has passed, so a correct password alone never counts as a sign-in.
    """
    entry = audit(Actor.for_user(user, address=address), "user.login", "user", user.id, **detail)
    user.last_login_at = entry.at  # the same moment as the audit entry says
    return entry


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


def note_failed_second_factor(user: User, address: str | None) -> AuditEntry:
    """Audit a wrong or spent two-factor code after a correct password (``user.login_failed``, ``wrong_code``)."""
    return audit(SIGN_IN_ACTOR.at_address(address), "user.login_failed", "user", user.id, email=user.email,
                 reason="wrong_code")


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


def password_problems(new: str | None, repeat: str | None, email: str | None = None) -> dict[str, str]:
    """What is wrong with a chosen password (``new_password``, ``confirm_password``); empty when it will do."""
    new = new or ""
    weakness = password_weakness(new, [email] if email else [])
    if weakness:
        return {"new_password": weakness}
    if new != (repeat or ""):
        return {"confirm_password": "does not match the new password"}
    return {}


def turn_on_two_factor(actor: Actor, user: User, secret: str | None, code: str) -> tuple[list[str], int]:
    """Confirm the user's TOTP enrolment (``security.two_factor.enable``); the recovery codes and the new
    session version. Every other session of the user ends: it was opened with the password alone."""
    codes = enable_two_factor(actor, user, secret, code)
    return codes, end_sessions(user)


def change_own_password(actor: Actor, user: User, current: str, new: str, repeat: str) -> int:
    """A user changes their own password, proving the current one; audited.

    Every session of the user ends (a thief holding an old cookie is locked out); the new session
    version is returned so the session that made the change can carry on with it.
    """
    errors = {}
    if not verify_secret(user.password_hash, current or ""):
        errors["current_password"] = "is not your current password"
    errors.update(password_problems(new, repeat, user.email))
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


LAST_ADMIN = "This is the last active admin; make another admin first."


def _is_last_active_admin(user: User) -> bool:
    """Whether ``user`` is the only active admin. Locks the admin rows (PostgreSQL) so two admins
    demoting or deactivating each other at the same moment cannot both succeed."""
    if user.role != "admin" or not user.active:
        return False
    admin_ids = db.session.execute(
        select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()).scalars().all()
    return len(admin_ids) <= 1


def set_user_active(actor: Actor, user: User, active: bool) -> User:
    """Deactivate or reactivate a user, audited; every session of the user ends.

    Refuses to deactivate the acting user or the last active admin: either would leave nobody
    able to undo it from the console.
    """
    if user.active == active:
        return user
    if not active:
        if actor.user_id is not None and actor.user_id == user.id:
            raise Conflict("You cannot deactivate your own account.", code="own_account")
        if _is_last_active_admin(user):
            raise Conflict(LAST_ADMIN, code="last_admin")
    user.active = active
    end_sessions(user)
    audit(actor, "user.reactivate" if active else "user.deactivate", "user", user.id, email=user.email)
    return user


def change_role(actor: Actor, user: User, role: str) -> User:
    """Give ``user`` another role, audited with the old and new one; every session of the user ends.

    Refuses to demote the last active admin, who would leave nobody able to manage users. An admin
    may change their own role while another admin remains; they are then signed out like anyone else.
    """
    if role not in ROLES:
        raise ValidationFailed(f"The role must be one of {', '.join(ROLES)}.", {"role": "is not a role"})
    if user.role == role:
        return user
    if user.role == "admin" and _is_last_active_admin(user):
        raise Conflict(LAST_ADMIN, code="last_admin")
    old = user.role
    user.role = role
    end_sessions(user)
    audit(actor, "user.role_change", "user", user.id, email=user.email, old=old, new=role)
    return user


def revoke_api_key(actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke a key at once (it stops authenticating on the next request), audited. Idempotent."""
    if key.revoked_at is None:
        key.revoked_at = clock.utcnow()
        audit(actor, "api_key.revoke", "api_key", key.id, name=key.name)
    return key
