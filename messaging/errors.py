"""Errors the core raises for the faces to translate (HTTP status, flash message, exit code)."""
from __future__ import annotations


class SealedError(Exception):
    """Base of the core's errors: a message a person can act on, per-field problems and a code."""

    code = "error"

    def __init__(self, message: str, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationFailed(SealedError):
    """The input is not valid; ``fields`` says what is wrong with each field."""

    code = "invalid"


class NotFound(SealedError):
    """No such record."""

    code = "not_found"


class Conflict(SealedError):
    """The request is valid but the current state refuses it (portal off, blocked by policy…)."""

    code = "conflict"


class PolicyRefused(Conflict):
    """The recommendation policy (``block``) refuses this; an admin may override it with a reason."""

    code = "blocked_by_policy"
