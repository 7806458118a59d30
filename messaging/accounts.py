"""Changes to existing console users and API keys: deactivation, reactivation, revocation."""
from __future__ import annotations

from sqlalchemy import func, select

from .audit import Actor, audit
from .clock import utcnow
from .db import db
from .errors import Conflict
from .models import ApiKey, User


def set_user_active(actor: Actor, user: User, active: bool) -> User:
    """Deactivate or reactivate a user, audited.

    Refuses to deactivate the acting user or the last active admin: either would leave nobody
    able to undo it from the console.
    """
    if user.active == active:
        return user
    if not active:
        if actor.user_id is not None and actor.user_id == user.id:
            raise Conflict("You cannot deactivate your own account.", code="own_account")
        if user.role == "admin":
            admins = db.session.execute(
                select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))).scalar_one()
            if admins <= 1:
                raise Conflict("This is the last active admin; make another admin first.", code="last_admin")
    user.active = active
    audit(actor, "user.reactivate" if active else "user.deactivate", "user", user.id, email=user.email)
    return user


def revoke_api_key(actor: Actor, key: ApiKey) -> ApiKey:
    """Revoke a key at once (it stops authenticating on the next request), audited. Idempotent."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit(actor, "api_key.revoke", "api_key", key.id, name=key.name)
    return key
