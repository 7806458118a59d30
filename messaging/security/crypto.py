"""Envelope encryption of message content, and keyed hashes of client IPs.

Each message gets its own Fernet data key; the data key is stored encrypted under the
master keys (``ENCRYPTION_KEYS``, a MultiFernet: the first encrypts, all decrypt). Rotating the
master keys therefore re-wraps one small key per message instead of re-encrypting every body; the
few small documents sealed directly under the master keys (code payloads, outbox records) are
re-encrypted whole (see messaging.security.key_rotation).
"""
from __future__ import annotations

import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class Keyring:
    """The master keys and the secret used for keyed hashes."""

    def __init__(self, master_keys: list[str], hash_secret: str):
        if not master_keys:
            raise ValueError("at least one encryption key is required")
        self.master = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in master_keys])
        self._hash_key = hashlib.sha256(b"sealed.ip-hash|" + hash_secret.encode()).digest()

    def new_data_key(self) -> tuple[Fernet, bytes]:
        """A fresh data key, and that key wrapped under the current master key."""
        raw = Fernet.generate_key()
        return Fernet(raw), self.master.encrypt(raw)

    def data_key(self, wrapped: bytes) -> Fernet:
        return Fernet(self.master.decrypt(wrapped))

    def rewrap(self, wrapped: bytes) -> bytes:
        """Re-encrypt any master-key ciphertext (a wrapped data key, a sealed payload) under the first key."""
        return self.master.rotate(wrapped)

    def seal(self, payload: dict) -> bytes:
        """Encrypt a small JSON document directly under the master key (outbox records)."""
        return self.master.encrypt(json.dumps(payload).encode())

    def unseal(self, token: bytes) -> dict:
        return json.loads(self.master.decrypt(token))

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of a value such as an IP: comparable between events, not reversible."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def keyring() -> Keyring:
    """The app's keyring (built from ENCRYPTION_KEYS at start-up)."""
    return current_app.extensions["sealed.keyring"]


def encrypt_content(fernet: Fernet, text: str | None) -> bytes | None:
    """Content text as ciphertext under a message's data key (None stays None)."""
    return None if text is None else fernet.encrypt(text.encode())


def decrypt_content(fernet: Fernet, token: bytes | None) -> str | None:
    """Ciphertext back to text under a message's data key (None stays None)."""
    return None if token is None else fernet.decrypt(token).decode()


__all__ = ["Keyring", "keyring", "encrypt_content", "decrypt_content", "InvalidToken"]
