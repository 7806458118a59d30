"""Console users and API keys."""
from __future__ import annotations

import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email

from .audit import Actor, audit
from .clock import utcnow
from .db import db
from .errors import ValidationFailed
from .models import ROLES, ApiKey, User
from .passwords import hash_secret, verify_secret

MIN_PASSWORD_LENGTH = 12
API_KEY_PREFIX = "sk_"


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


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Unknown e-mails cost the same time."""
    user = db.session.execute(
        db.select(User).filter_by(email=(email or "").strip().lower())).scalar_one_or_none()
    ok = verify_secret(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


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
