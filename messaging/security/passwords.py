"""Slow hashes for passwords, PINs and one-time codes (argon2id), verified in constant time."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

# One of OWASP's argon2id settings (m=19 MiB, t=2, p=1) instead of the library's 64 MiB x 4 lanes:
# every PIN, code and password check allocates m, so a burst of N parallel checks costs N x 19 MiB
# of a worker's memory (16 at once: ~300 MiB rather than ~1 GiB); t=2 keeps the work per guess
# OWASP-equivalent. The sizing is measured in bench/viewer.py and explained in bench/README.md.
PRODUCTION_PARAMS = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}

_DEFAULT = PasswordHasher(**PRODUCTION_PARAMS)


def hasher() -> PasswordHasher:
    """The app's hasher; tests configure cheaper parameters through ``ARGON2_PARAMS``."""
    if has_app_context():
        return current_app.extensions.get("sealed.hasher", _DEFAULT)
    return _DEFAULT


def make_hasher(params: dict | None) -> PasswordHasher:
    """An argon2 hasher with these parameters (PRODUCTION_PARAMS when none)."""
    return PasswordHasher(**(params or PRODUCTION_PARAMS))


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


def upgraded_hash(stored_hash: str, secret: str) -> str | None:
    """After a successful check: a fresh hash of ``secret`` when the stored one used other parameters.

    Hashes made before a parameter change keep verifying (argon2 reads them from the hash itself);
    the caller stores the returned hash so each secret moves to the current parameters on its next use.
    """
    h = hasher()
    try:
        return h.hash(secret) if h.check_needs_rehash(stored_hash) else None
    except InvalidHashError:
        return None


def _DUMMY_HASH() -> str:  # noqa: N802 - memoised constant
    h = hasher()
    cache = _DUMMY_CACHE.get(id(h))
    if cache is None:
        cache = _DUMMY_CACHE[id(h)] = h.hash("not-a-real-secret")
    return cache


_DUMMY_CACHE: dict[int, str] = {}
