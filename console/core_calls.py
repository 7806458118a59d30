"""Running a core call from a console view, and showing its errors: the console's counterpart of api/errors.py.

The core validates, audits and raises ``messaging.errors``; it never commits. A view runs the
call inside ``run_core``, which commits when it succeeds and, when it raises a core error, rolls
back (nothing half-done reaches the database), puts per-field messages under the form's fields
and flashes the message. The view then reads ``call.failed`` / ``call.error`` to choose its page.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash

from messaging.db import db
from messaging.errors import SealedError


@dataclass
class CoreCall:
    """What happened to one call run by ``run_core``: the core error it raised, or None."""

    error: SealedError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def fields(self) -> dict[str, str]:
        """The error's per-field messages (empty when the call succeeded or named no field)."""
        return dict(self.error.fields) if self.error is not None else {}


def attach_errors(form, fields: dict[str, str]) -> None:
    """Put the core's per-field messages under the matching WTForms fields."""
    for name, message in fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]


@contextmanager
def run_core(form=None, flash_error: bool = True) -> Iterator[CoreCall]:
    """Commit what the block did, or roll it back on a core error and show that error.

    ``form``: a WTForms form that gets the error's field messages. ``flash_error``: flash the
    error's message (off where the page shows the errors itself). Other exceptions propagate.
    """
    call = CoreCall()
    try:
        yield call
    except SealedError as exc:
        db.session.rollback()
        call.error = exc
        if form is not None:
            attach_errors(form, exc.fields)
        if flash_error:
            flash(exc.message, "error")
    else:
        db.session.commit()
