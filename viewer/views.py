"""The client's pages: landing (GET), open with PIN or code (POST), send me a code, reply.

A GET shows only a landing page: mail and SMS apps fetch links on their own to build previews,
so nothing is consumed and nothing counts as viewed until the reader submits a form.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address

from extensions import limiter
from messaging import clock
from messaging.client.access import (
    MAX_REPLY_LENGTH,
    PinOutcome,
    add_reply,
    attempts_left,
    check_code_attempt,
    check_pin_attempt,
    identity_method,
    mark_viewed,
    note_link_opened,
    request_code,
    resolve_link,
)
from messaging.client.codes import CODE_LIFETIME, MAX_CODE_FAILURES, CodeRefused, code_route
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.messages import message_content
from messaging.models import Message
from messaging.security.lockout import active_lock
from messaging.security.tokens import make_view_grant, read_view_grant
from messaging.settings import get_settings

from .security import apply_security_headers

URL_PREFIX = "/m"
bp = Blueprint("viewer", __name__, url_prefix=URL_PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/_/static")

PIN_SHAPE = re.compile(r"^[0-9]{4,8}$")
CODE_SHAPE = re.compile(r"^[0-9]{6}$")
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_BRAND = "#1f5f8b"


# --- plumbing: headers, rate limit, shared page context ---

@bp.after_app_request
def _viewer_headers(response: Response) -> Response:
    # One hook for every response under /m/, including routing errors (404/405) that never reach
    # the blueprint, so no viewer page can go out without its headers.
    if request.blueprint == bp.name or request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/"):
        apply_security_headers(response)
    return response


def _post_limit() -> str:
    return current_app.config["VIEWER_POST_LIMIT"]


def _ip_and_token() -> str:
    token = (request.view_args or {}).get("token", "")
    return f"{get_remote_address()}|{hashlib.sha256(token.encode()).hexdigest()[:32]}"


# Every POST that checks a secret or costs a send shares one budget per IP and link, on top of
# the per-message attempt counter kept in the database.
post_limit = limiter.shared_limit(_post_limit, scope="viewer-post", key_func=_ip_and_token, methods=["POST"])


def _verify_limit() -> str:
    return current_app.config["VIEWER_VERIFY_LIMIT"]


def _checked_a_secret(_response: Response) -> bool:
    return bool(g.get("checked_a_secret"))


# PINs and codes checked per client address across every link: one address cannot spread its
# guesses over many links. Only requests that really checked a secret are counted.
verify_limit = limiter.shared_limit(_verify_limit, scope="viewer-verify", key_func=get_remote_address,
                                    methods=["POST"], deduct_when=_checked_a_secret)


def client_ip() -> str | None:
    return request.remote_addr


def human_time(moment: datetime) -> str:
    """E.g. ``14:35 UTC on 3 March 2025`` (stored times are naive UTC)."""
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%B %Y}"


def minutes_from_now(moment: datetime) -> int:
    return max(1, round((moment - clock.utcnow()).total_seconds() / 60))


@bp.app_template_filter("viewer_time")
def _viewer_time(moment: datetime) -> str:
    return human_time(moment)


@bp.context_processor
def _page_context() -> dict:
    settings = get_settings()
    return {"org_name": settings.org_name}


def not_found() -> tuple[str, int]:
    """The one page for a tampered, expired, revoked or unknown link: it must not say which."""
    return render_template("viewer/not_found.html"), 404


def _gate(message: Message, token: str, status: int = 200, **extra) -> tuple[str, int]:
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


def _content(message: Message, token: str, grant: str, status: int = 200, **extra) -> tuple[str, int]:
    subject, body = message_content(message)
    context = {"token": token, "grant": grant, "subject": subject, "body": body,
               "sent_at": message.created_at, "replies_allowed": get_settings().replies_allowed,
               "max_reply": MAX_REPLY_LENGTH, "reply_text": "", "reply_error": None, "reply_sent": False}
    context.update(extra)
    return render_template("viewer/content.html", **context), status


def _notice(title: str, text: str, status: int, token: str | None = None) -> tuple[str, int]:
    return render_template("viewer/notice.html", title=title, text=text, token=token), status


@bp.errorhandler(429)
def _too_many(_error):
    return _notice("Please wait a moment",
                   "There were too many attempts from this device. Wait a minute, then try again.", 429)


# --- pages ---

@bp.get("/<token>")
def landing(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    note_link_opened(message, client_ip())
    db.session.commit()
    return _gate(message, token)


@bp.post("/<token>")
@post_limit
@verify_limit
def open_message(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    method = identity_method(message)
    if method is not None:
        outcome = _prove(message, method)
        if not isinstance(outcome, PinOutcome):
            return _gate(message, token, 422, error=outcome)
        db.session.commit()
        if not outcome.ok:
            return _refused(message, token, outcome)
    mark_viewed(message, client_ip())
    db.session.commit()
    return _content(message, token, make_view_grant(message.public_id, message.token_version))


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
        return _gate(message, token, 403, error="This code is no longer valid. Ask for a new code.")
    if outcome.code_refused == "spent" or (by_code and outcome.attempts_left == 0):
        return _gate(message, token, 403, error="This code has had too many wrong answers. "
                                                "Ask for a new code.")
    if outcome.locked_until is not None:
        return _gate(message, token, 423)
    left = outcome.attempts_left
    if by_code:
        what = "That code is not right."
        rest = f"{left} more tr{'ies' if left != 1 else 'y'} with this code."
    else:
        what = "That PIN is not right."
        rest = f"{left} attempt{'s' if left != 1 else ''} left before the message locks."
    return _gate(message, token, 403, error=f"{what} {rest}")


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
        return _gate(message, token, status, error=refused.message)
    db.session.commit()
    return _gate(message, token, code_sent=issued)


@bp.post("/<token>/reply")
@post_limit
def reply(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    if active_lock(message) is not None:
        # A lock hides the content on every path, a re-read through the reply form included.
        return _gate(message, token, 423)
    if not get_settings().replies_allowed:
        return _notice("Replies are turned off", "This message cannot be answered here. "
                       "Please contact the sender another way.", 403, token)
    grant = request.form.get("grant", "")
    if not read_view_grant(grant, message.public_id, message.token_version):
        return _notice("Please open the message again",
                       "For your privacy, a reply must be sent within 30 minutes of opening the message.",
                       403, token)
    text = request.form.get("body", "")
    try:
        add_reply(message, text, client_ip())
    except ValidationFailed as invalid:
        db.session.rollback()
        return _content(message, token, grant, 422, reply_text=text, reply_error=invalid.message)
    db.session.commit()
    return _content(message, token, grant, reply_sent=True)


@bp.get("/<token>/code")
@bp.get("/<token>/reply")
def back_to_landing(token: str):
    # A reload or a bookmark of a form's address: go back to the start rather than show an error.
    return redirect(url_for("viewer.landing", token=token), code=303)


@bp.get("/_/theme.css")
def theme():
    """The brand colour as a stylesheet, so no page needs an inline style."""
    brand = get_settings().brand_color or DEFAULT_BRAND
    if not HEX_COLOUR.match(brand):
        brand = DEFAULT_BRAND
    css = f":root {{ --brand: {brand}; --brand-text: {_text_on(brand)}; }}\n"
    return Response(css, mimetype="text/css")


def _text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.179 else "#ffffff"
