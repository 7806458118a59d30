"""The client's pages: landing (GET), open with PIN, date of birth or code (POST), send me a code,
ask the office for a new link, and the pages of a link that no longer opens.

A GET shows only a landing page: mail and SMS apps fetch links on their own to build previews,
so nothing is consumed and nothing counts as viewed until the reader submits a form — or the
browser carries a live session cookie, which no link scanner has.
"""
from __future__ import annotations

import re
from datetime import date

from flask import g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from messaging import clock
from messaging.client.access import (
    PinOutcome,
    attempts_left,
    check_code_attempt,
    check_dob_attempt,
    check_pin_attempt,
    identity_method,
    note_link_opened,
    request_code,
)
from messaging.client.codes import CODE_LIFETIME, MAX_CODE_FAILURES, CodeRefused, code_routes
from messaging.client.introduction import introduction_due, note_introduction_seen
from messaging.client.links import note_expired_open, open_link, request_new_link
from messaging.client.pin_choice import choice_pending, client_may_choose, offer_choice
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.models import Message
from messaging.security.lockout import active_lock
from messaging.settings import get_settings

from .blueprint import bp, post_limit, verify_limit
from .language import use_language
from .pages import client_ip, minutes_from_now, not_found
from .pin_choice import choice_page
from .session_cookie import current_session, set_session_cookie
from .thread import render_thread

PIN_SHAPE = re.compile(r"^[0-9]{4,8}$")
CODE_SHAPE = re.compile(r"^[0-9]{6}$")
METHOD_STATES = {None: "landing_open", "contact_pin": "verify_pin", "date_of_birth": "verify_dob",
                 "one_time_code": "verify_code"}
CHANNELS = ("sms", "email")


def _page_state(method: str | None, locked: bool, status: int, extra: dict) -> str:
    if locked:
        return "locked"
    if status == 403:
        return "wrong_entry"
    if extra.get("code_sent") or extra.get("error_field") in ("code", "send"):
        return "verify_code"  # the fallback code is now the way in
    return METHOD_STATES[method]


def gate(message: Message, token: str, status: int = 200, **extra) -> tuple[str, int]:
    """The landing page: what the reader must do next (open, enter PIN/date/code), or the lock."""
    use_language(message.contact.language)
    method = identity_method(message)
    until = active_lock(message)
    settings = get_settings()
    routes = code_routes(message) if method is not None else []
    context = {
        "token": token, "method": method, "locked_until": until,
        "locked_minutes": minutes_from_now(until) if until else None,
        "attempts_left": attempts_left(message), "max_attempts": settings.max_pin_attempts,
        "lockout_minutes": settings.lockout_minutes, "routes": routes, "route": routes[0] if routes else None,
        "code_minutes": int(CODE_LIFETIME.total_seconds() // 60), "code_attempts": MAX_CODE_FAILURES,
        "error": None, "error_field": None, "code_sent": None, "dob": {},
        "will_choose_pin": method == "one_time_code" and not message.contact.has_pin and client_may_choose(message),
        "introduction": introduction_due(message.contact), "office_contact": settings.office_contact,
    }
    context.update(extra)
    context["page_state"] = _page_state(method, until is not None, status, context)
    if until is not None and status == 200 and not context["code_sent"]:
        status = 423  # the page says so; a code sent from it is the way on, so that page is a 200
    return render_template("viewer/landing.html", **context), status


def gone(state: str, message: Message, token: str, status: int = 410) -> tuple[str, int]:
    """The plain page of a validly signed link whose message expired, was withdrawn or was replaced."""
    use_language(message.contact.language)
    if state == "expired":
        note_expired_open(message, client_ip())
        db.session.commit()
    return render_template("viewer/gone.html", token=token, page_state=state, state=state), status


def _dead_link(state: str, message: Message | None, token: str):
    if message is None or state == "unknown":
        return not_found()
    return gone(state, message, token)


# --- pages ---

@bp.get("/<token>")
def landing(token: str):
    state, message = open_link(token)
    if state != "found":
        return _dead_link(state, message, token)
    session = current_session(message.contact_id)
    if session is not None:  # a verified browser, not a link scanner: the thread at once
        if choice_pending(session):  # a reload of the page that asks for a PIN
            page = choice_page(message, token)
            db.session.commit()  # the session's renewed idle time
            return page
        return render_thread(message, session, token)
    # Rendered first: the commit would expire what the page reads (three reloads), and a pending
    # INSERT would hold SQLite's write lock through the rendering.
    page = gate(message, token)
    note_link_opened(message, client_ip())
    db.session.commit()
    return page


@bp.post("/<token>")
@post_limit
@verify_limit
def open_message(token: str):
    state, message = open_link(token)
    if state != "found":
        return _dead_link(state, message, token)
    use_language(message.contact.language)  # before any error below is translated
    method = identity_method(message)
    by_code = False
    if method is not None and current_session(message.contact_id) is None:
        how = _posted_proof(method)
        outcome = _prove(message, how)
        if not isinstance(outcome, PinOutcome):
            return gate(message, token, 422, error=outcome, error_field=how, dob=_posted_dob())
        db.session.commit()
        if not outcome.ok:
            return _refused(message, token, outcome, how)
        by_code = how == "code"
    note_introduction_seen(message.contact)
    session = current_session(message.contact_id)
    raw = None
    if session is None:
        raw, session = start_session(message.contact, message, client_ip())
    if (by_code and offer_choice(session, message)) or choice_pending(session):
        db.session.commit()
        response = make_response(*choice_page(message, token))
    else:
        response = render_thread(message, session, token)
    return set_session_cookie(response, raw) if raw else response


def _posted_proof(method: str) -> str:
    """Which answer the form carries: a fallback code may come from any page, else the method's own."""
    if "code" in request.form or method == "one_time_code":
        return "code"
    return "dob" if method == "date_of_birth" else "pin"


def _posted_dob() -> dict:
    return {part: (request.form.get(f"dob_{part}") or "").strip()[:4] for part in ("day", "month", "year")}


def _dob_answer() -> tuple[int, int, int] | None:
    """The posted day, month and year when they make a real date, else None."""
    parts = _posted_dob()
    if not all(value.isdigit() for value in parts.values()) or len(parts["year"]) != 4:
        return None
    day, month, year = int(parts["day"]), int(parts["month"]), int(parts["year"])
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return (day, month, year) if date(1880, 1, 1) <= born <= clock.utcnow().date() else None


def _prove(message: Message, how: str) -> PinOutcome | str:
    """Check the posted answer; a string is what to ask for instead when the answer cannot be one."""
    locked = active_lock(message) is not None
    if how == "dob":
        answer = _dob_answer()
        if answer is None and not locked:
            # Not a possible date, so not a guess: say what is expected instead of counting it.
            return _("Enter your date of birth: day, month and year (4 digits).")
        g.checked_a_secret = True
        return check_dob_attempt(message, *(answer or (0, 0, 0)), client_ip())
    field, shape = ("code", CODE_SHAPE) if how == "code" else ("pin", PIN_SHAPE)
    candidate = (request.form.get(field) or "").strip().replace(" ", "")
    if not shape.match(candidate) and (how == "code" or not locked):
        return _("Enter the 6-digit code.") if how == "code" else _("Enter your PIN (4 to 8 digits).")
    g.checked_a_secret = True
    if how == "code":
        return check_code_attempt(message, candidate, client_ip())
    return check_pin_attempt(message, candidate, client_ip())


def _refused(message: Message, token: str, outcome: PinOutcome, how: str) -> tuple[str, int]:
    if how == "code":
        if outcome.code_refused == "no_code":
            error = _("This code is no longer valid. Ask for a new code.")
        elif outcome.code_refused == "spent" or outcome.attempts_left == 0:
            error = _("This code has had too many wrong answers. Ask for a new code.")
        else:
            error = ngettext("That code is not right. %(num)d more try with this code.",
                             "That code is not right. %(num)d more tries with this code.", outcome.attempts_left)
        return gate(message, token, 403, error=error, error_field="code")
    if outcome.locked_until is not None:
        return gate(message, token, 423)
    left = outcome.attempts_left
    if how == "dob":
        error = ngettext("That date of birth is not right. %(num)d attempt left before the message locks.",
                         "That date of birth is not right. %(num)d attempts left before the message locks.", left)
    else:
        error = ngettext("That PIN is not right. %(num)d attempt left before the message locks.",
                         "That PIN is not right. %(num)d attempts left before the message locks.", left)
    return gate(message, token, 403, error=error, error_field=how)


@bp.post("/<token>/code")
@post_limit
def send_code(token: str):
    state, message = open_link(token)
    if state != "found":
        return _dead_link(state, message, token)
    if identity_method(message) is None:  # nothing to prove: the landing opens it as it is
        return redirect(url_for("viewer.landing", token=token), code=303)
    channel = request.form.get("channel")
    try:
        issued = request_code(message, client_ip(), channel=channel if channel in CHANNELS else None)
    except CodeRefused as refused:
        db.session.rollback()
        status = {"too_soon": 429, "too_many": 429}.get(refused.code, 409)
        return gate(message, token, status, error=_code_refusal(refused), error_field="send")
    db.session.commit()
    return gate(message, token, code_sent=issued)


def _code_refusal(refused: CodeRefused) -> str:
    if refused.code == "too_soon":
        return _("A code was sent moments ago. You can ask for another in %(seconds)d seconds.",
                 seconds=refused.retry_after or 60)
    if refused.code == "too_many":
        return _("Too many codes were sent to you in the last hour. Please try again later.")
    if refused.code == "no_channel":
        return _("We have no phone number or e-mail address to send a code to. Please contact the sender.")
    return _("A code cannot be sent now. Please try again later.")


@bp.post("/<token>/ask")
@post_limit
def ask_for_link(token: str):
    """"Ask the office for a new link": the page says the same whatever became of the message."""
    state, message = open_link(token)
    if message is None:
        return not_found()
    if state == "found" and active_lock(message) is None:
        return redirect(url_for("viewer.landing", token=token), code=303)
    use_language(message.contact.language)
    asked = request_new_link(message, client_ip())
    db.session.commit()
    return render_template("viewer/link_requested.html", token=token, already=not asked,
                           page_state="link_requested"), 200


@bp.get("/<token>/code")
@bp.get("/<token>/pin")
@bp.get("/<token>/ask")
@bp.get("/<token>/reply")
def back_to_landing(token: str):
    # A reload or a bookmark of a form's address: go back to the start rather than show an error.
    return redirect(url_for("viewer.landing", token=token), code=303)
