"""The client chooses their own PIN after a one-time code (or a new one after "Forgot your PIN?").

The page comes between the code and the content, and only for a session the code just opened
(messaging.client.pin_choice). Saving or "Not now" both go on to the thread.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from messaging.client.links import open_link
from messaging.client.pin_choice import PinsDiffer, choice_pending, choose_pin, skip_choice
from messaging.db import db
from messaging.errors import Conflict
from messaging.models import Message, ViewerSession
from messaging.security.pins import InvalidPin

from .blueprint import bp, post_limit
from .language import use_language
from .pages import client_ip, not_found
from .session_cookie import current_session
from .thread import render_thread


def refusal_text(reason: str) -> str:
    """Why a chosen PIN is refused, in the client's language (reasons: messaging.security.pins)."""
    return {
        "repeated": _("Choose a PIN that is not one digit repeated, like 0000: it is among the first guesses."),
        "sequence": _("Choose a PIN that is not a run of digits, like 1234 or 4321: it is among the first guesses."),
        "birth_year": _("Choose a PIN that is not the year you were born: it is among the first guesses."),
    }.get(reason, _("Choose a PIN of 4 to 8 digits."))


def choice_page(message: Message, token: str, status: int = 200, error: str | None = None,
                error_field: str | None = None):
    use_language(message.contact.language)
    return render_template("viewer/choose_pin.html", token=token, replacing=message.contact.has_pin, error=error,
                           error_field=error_field, page_state="choose_pin"), status


@bp.post("/<token>/pin", endpoint="choose_pin")
@post_limit
def choose_pin_view(token: str):
    state, message = open_link(token)
    if message is None:
        return not_found()
    session: ViewerSession | None = current_session(message.contact_id)
    if state != "found" or not choice_pending(session):
        # A reload after the choice, a lapsed window or a dead link: the landing says what is next.
        return redirect(url_for("viewer.landing", token=token), code=303)
    use_language(message.contact.language)
    if request.form.get("action") == "skip":
        skip_choice(session, message, client_ip())
        return render_thread(message, session, token)  # commits
    pin = (request.form.get("pin") or "").strip()
    try:
        choose_pin(session, message, pin, (request.form.get("pin_confirm") or "").strip(), client_ip())
    except InvalidPin as refused:
        return choice_page(message, token, 422, refusal_text(refused.reason), "pin")
    except PinsDiffer:
        return choice_page(message, token, 422, _("The two PINs are not the same. Enter the same PIN twice."),
                           "pin_confirm")
    except Conflict:
        db.session.rollback()
        return redirect(url_for("viewer.landing", token=token), code=303)
    return render_thread(message, session, token, pin_saved=True)  # commits

