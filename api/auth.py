"""Bearer API keys: who is calling, with which role, and the rate-limit identity."""
from __future__ import annotations

from datetime import timedelta

from flask import g, request
from flask_limiter.util import get_remote_address

from messaging import clock
from messaging.audit import Actor
from messaging.db import db
from messaging.models import ApiKey
from messaging.people.users import find_api_key

from .errors import ApiError

# Recording every call would turn each read into a write; a minute's precision is enough to see use.
LAST_USED_PRECISION = timedelta(minutes=1)
_MISSING = object()


def request_key() -> ApiKey | None:
    """The active key in ``Authorization: Bearer <key>``, looked up once per request."""
    key = g.get("sealed_api_key", _MISSING)
    if key is _MISSING:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = find_api_key(token.strip()) if scheme.lower() == "bearer" else None
        g.sealed_api_key = key
    return key


def rate_limit_key() -> str:
    # A verified key is its own bucket; anything else (no key, guessed keys) counts against the address,
    # so inventing key prefixes cannot spread guesses over fresh buckets.
    key = request_key()
    return f"api-key:{key.id}" if key is not None else f"ip:{get_remote_address()}"


def require_key(role: str) -> ApiKey:
    """The caller's key, or a 401/403 ApiError. ``role`` is ``any`` or ``admin``."""
    key = request_key()
    if key is None:
        if not request.headers.get("Authorization"):
            message = "An API key is needed: send Authorization: Bearer <key>."
        else:
            message = "The API key is not valid, or it has been revoked."
        raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if role == "admin" and key.role != "admin":
        raise ApiError(403, "forbidden", "This endpoint needs an admin API key.")
    now = clock.utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        key.last_used_at = now
        db.session.commit()
    return key


def current_actor() -> Actor:
    """The audit actor of this request's key."""
    key = request_key()
    assert key is not None, "current_actor() is only for authenticated operations"
    return Actor.for_api_key(key, address=request.remote_addr)
