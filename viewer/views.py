"""The client's pages: landing (GET), open with PIN or code (POST), send me a code.

A GET shows only a landing page: mail and SMS apps fetch links on their own to build previews,
so nothing is consumed and nothing counts as viewed until the reader submits a form — or the
browser carries a live session cookie, which no link scanner has.
"""
from __future__ import annotations

import re

from flask import g, redirect, render_template, request, url_for

from messaging.client.access import (
    PinOutcome,
    attempts_left,
    check_code_attempt,
    check_pin_attempt,
    identity_method,
    note_link_opened,
    request_code,
    resolve_link,
)
from messaging.client.codes import CODE_LIFETIME, MAX_CODE_FAILURES, CodeRefused, code_route
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.models import Message
from messaging.security.lockout import active_lock
from messaging.settings import get_settings

from .blueprint import bp, post_limit, verify_limit
from .pages import client_ip, minutes_from_now, not_found
from .session_cookie import current_session, set_session_cookie
from .thread import render_thread

PIN_SHAPE = re.compile(r"^[0-9]{4,8}$")
CODE_SHAPE = re.compile(r"^[0-9]{6}$")


def gate(message: Message, token: str, status: int = 200, **extra) -> tuple[str, int]:
    """The landing page: what the reader must do next (open, enter PIN, get a code) or the lock."""
    method = identity_method(message)
    until = active_lock(message)
    # A code to the address on file proves possession of it, so it is offered during a lock too.
    code_way = method == "one_time_code" or until is not None
    route = code_route(message) if code_way else None
    settings = get_settings()
    context = {
        "token": token, "method": method, "locked_until": until, "code_way": code_way,
        "locked_minutes": minutes_from_now(until) if until else None,
        "attempts_left": attempts_left(message), "max_attempts": settings.max_pin_attempts,
        "lockout_minutes": settings.lockout_minutes, "route": route,
        "code_minutes": int(CODE_LIFETIME.total_seconds() // 60), "code_attempts": MAX_CODE_FAILURES,
    }
    context.update(extra)
    return render_template("viewer/landing.html", **context), status


# --- pages ---

@bp.get("/<token>")
def landing(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    session = current_session(message.contact_id)
    if session is not None:  # a verified browser, not a link scanner: the thread at once
        return render_thread(message, session, token)
    note_link_opened(message, client_ip())
    db.session.commit()
    return gate(message, token)


@bp.post("/<token>")
@post_limit
@verify_limit
def open_message(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    method = identity_method(message)
    if method is not None and current_session(message.contact_id) is None:
        outcome = _prove(message, method)
        if not isinstance(outcome, PinOutcome):
            return gate(message, token, 422, error=outcome)
        db.session.commit()
        if not outcome.ok:
            return _refused(message, token, outcome)
    session = current_session(message.contact_id)
    raw = None
    if session is None:
        raw, session = start_session(message.contact, message, client_ip())
    response = render_thread(message, session, token)
    return set_session_cookie(response, raw) if raw else response


def _prove(message: Message, method: str) -> PinOutcome | str:
    """Check the posted PIN or code; a string is what to ask for instead when the answer cannot be one."""
    by_code = method == "one_time_code" or "code" in request.form
    field, shape = ("code", CODE_SHAPE) if by_code else ("pin", PIN_SHAPE)
    candidate = (request.form.get(field) or "").strip().replace(" ", "")
    if not shape.match(candidate) and (by_code or active_lock(message) is None):
        # Not a possible answer, so not a guess: say what is expected instead of counting it.
        return "Enter the 6-digit code." if by_code else "Enter your PIN (4 to 8 digits)."
    g.checked_a_secret = True
    if by_code:
        return check_code_attempt(message, candidate, client_ip())
    return check_pin_attempt(message, candidate, client_ip())


def _refused(message: Message, token: str, outcome: PinOutcome) -> tuple[str, int]:
    by_code = "code" in request.form or identity_method(message) == "one_time_code"
    if outcome.code_refused == "no_code":
        return gate(message, token, 403, error="This code is no longer valid. Ask for a new code.")
    if outcome.code_refused == "spent" or (by_code and outcome.attempts_left == 0):
        return gate(message, token, 403, error="This code has had too many wrong answers. "
                                                "Ask for a new code.")
    if outcome.locked_until is not None:
        return gate(message, token, 423)
    left = outcome.attempts_left
    if by_code:
        what = "That code is not right."
        rest = f"{left} more tr{'ies' if left != 1 else 'y'} with this code."
    else:
        what = "That PIN is not right."
        rest = f"{left} attempt{'s' if left != 1 else ''} left before the message locks."
    return gate(message, token, 403, error=f"{what} {rest}")


@bp.post("/<token>/code")
@post_limit
def send_code(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    try:
        issued = request_code(message, client_ip())
    except CodeRefused as refused:
        db.session.rollback()
        status = {"too_soon": 429, "too_many": 429, "locked": 423}.get(refused.code, 409)
        return gate(message, token, status, error=refused.message)
    db.session.commit()
    return gate(message, token, code_sent=issued)


@bp.get("/<token>/code")
@bp.get("/<token>/reply")
def back_to_landing(token: str):
    # A reload or a bookmark of a form's address: go back to the start rather than show an error.
    return redirect(url_for("viewer.landing", token=token), code=303)
