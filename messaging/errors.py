"""Errors the core raises for the faces to translate (HTTP status, flash message, exit code)."""
from __future__ import annotations


class SealedError(Exception):
    code = "error"

    def __init__(self, message: str, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationFailed(SealedError):
    code = "invalid"


class NotFound(SealedError):
    code = "not_found"


class Conflict(SealedError):
    """The request is valid but the current state refuses it (portal off, blocked by policy…)."""

    code = "conflict"


class PolicyRefused(Conflict):
    code = "blocked_by_policy"
