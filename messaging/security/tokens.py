"""Signed tokens. Each kind has its own salt so one can never stand in for another."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

LINK_SALT = "sealed.viewer-link"
MAX_TOKEN_LENGTH = 512  # real tokens are about 80 characters; anything far longer is not ours


@dataclass(frozen=True)
class LinkClaims:
    """What a valid link token says: the message's public id and the token version it was made for."""

    public_id: str
    version: int


def _serializer(salt: str, secret: str | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret or current_app.config["SECRET_KEY"], salt=salt)


def make_link_token(public_id: str, version: int, secret: str | None = None) -> str:
    """The token of a viewer link: the message's public id and its token version, signed and timed.

    Bumping Message.token_version (revoke, cancel) makes every earlier token worthless.
    """
    return _serializer(LINK_SALT, secret).dumps({"m": public_id, "v": version})


def read_link_token(token: str, max_age_seconds: int, secret: str | None = None) -> LinkClaims | None:
    """The claims of a valid, unexpired token; None for anything else (no hint which)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data = _serializer(LINK_SALT, secret).loads(token, max_age=max_age_seconds)
        return LinkClaims(public_id=str(data["m"]), version=int(data["v"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
