"""Changes to existing console users and API keys: deactivation, reactivation, role, revocation.

Each change that alters what a user may do ends every session of that user (``end_sessions``):
a deactivated user is out at once, and a new role takes effect on a fresh sign-in, never
half-way through a session that was granted under the old one.
"""
from __future__ import annotations

from sqlalchemy import select

from .audit import Actor, audit
from .clock import utcnow
from .db import db
from .errors import Conflict, ValidationFailed
from .models import ROLES, ApiKey, User
from .users import end_sessions

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
        key.revoked_at = utcnow()
        audit(actor, "api_key.revoke", "api_key", key.id, name=key.name)
    return key
