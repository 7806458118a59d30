"""Slow hashes for passwords, PINs and one-time codes (argon2id), verified in constant time."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

_DEFAULT = PasswordHasher()


def hasher() -> PasswordHasher:
    """The app's hasher; tests configure cheaper parameters through ``ARGON2_PARAMS``."""
    if has_app_context():
        return current_app.extensions.get("sealed.hasher", _DEFAULT)
    return _DEFAULT


def make_hasher(params: dict | None) -> PasswordHasher:
    """An argon2 hasher with these parameters (the library's defaults when none)."""
    return PasswordHasher(**params) if params else PasswordHasher()


def hash_secret(secret: str) -> str:
    """A slow argon2 hash of a password or PIN, to store."""
    return hasher().hash(secret)


def verify_secret(stored_hash: str | None, candidate: str) -> bool:
    """True when ``candidate`` matches; argon2's verify compares in constant time."""
    if not stored_hash:
        # Spend the same time as a real check so a missing hash is not observable.
        try:
            hasher().verify(_DUMMY_HASH(), candidate)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher().verify(stored_hash, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _DUMMY_HASH() -> str:  # noqa: N802 - memoised constant
    h = hasher()
    cache = _DUMMY_CACHE.get(id(h))
    if cache is None:
        cache = _DUMMY_CACHE[id(h)] = h.hash("not-a-real-secret")
    return cache


_DUMMY_CACHE: dict[int, str] = {}
