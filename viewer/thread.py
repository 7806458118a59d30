"""The verified client's secure thread: read, reply, sign out. Reading and replying need a live session.

The link in the URL only says where the client came in; the session cookie is what lets them in.
So a link that died while the page was open (withdrawn, expired after its view, replaced) still
names the thread for the same verified client, and that message shows as withdrawn or expired —
its content is never served again.
"""
from __future__ import annotations

from flask import current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _

from messaging import clock
from messaging.client.access import MAX_REPLY_LENGTH, add_reply, mark_viewed
from messaging.client.client_thread import ClientThreadItem, client_thread_page
from messaging.client.lifetime import after_first_view
from messaging.client.links import open_link
from messaging.client.sessions import end_session, idle_limit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.events import record_event
from messaging.models import Message, ViewerSession
from messaging.security.lockout import active_lock
from messaging.settings import get_settings

from .attachments import UPLOAD_REFUSALS, attach_client_files, refused_page
from .blueprint import bp, post_limit
from .language import use_language
from .pages import client_ip, not_found, notice
from .session_cookie import clear_session_cookie, current_session


@bp.context_processor
def _logo_context() -> dict:
    # The logo route belongs to the branding module; a page must still render if it is missing.
    has_route = "viewer.logo" in current_app.view_functions
    return {"viewer_logo_url": url_for("viewer.logo") if has_route else None}


def _record_views(items: list[ClientThreadItem]) -> None:
    """Every secure message whose content this page shows is a view (and may end its link)."""
    now = clock.utcnow()
    ip = client_ip()
    for item in items:
        if item.direction == "out" and item.shows_content:
            mark_viewed(item.message, ip)
            after_first_view(item.message, now)


def render_thread(message: Message, session: ViewerSession, token: str, status: int = 200, **extra):
    """The thread page for the session's contact, opened through ``message``'s link. Records the views."""
    use_language(message.contact.language)
    # The items are read before the views are recorded: a message that expires after its first
    # view is shown this once, and only later requests see it expired.
    items, left_out = client_thread_page(message.contact, keep=message)
    _record_views(items)
    db.session.commit()
    context = {"token": token, "items": items, "opened_id": message.id, "opened_public_id": message.public_id,
               "left_out": left_out,
               "replies_allowed": get_settings().replies_allowed, "max_reply": MAX_REPLY_LENGTH,
               "idle_minutes": int(idle_limit().total_seconds() // 60),
               "reply_text": "", "reply_error": None, "reply_sent": False, "page_state": "thread"}
    context.update(extra)
    return make_response(render_template("viewer/thread.html", **context), status)


def thread_anchor(token: str) -> Message | None:
    """The message a validly signed link names, alive or not; None when the signature is not ours.

    A dead message is only a place in the thread, for a request that carries a live session of its
    contact: the session is the proof of identity, and the thread shows it without its content.
    """
    return open_link(token)[1]


def session_ended_page(token: str):
    return notice(_("Please open the message again"),
                  _("For your privacy, you were signed out after a while without activity. "
                    "Open the link again to confirm who you are."), 403, token, state="session_ended")


@bp.post("/<token>/reply")
@post_limit
def reply(token: str):
    state, message = open_link(token)
    if message is None:
        return not_found()
    use_language(message.contact.language)
    session = current_session(message.contact_id)
    if session is None:
        if state != "found":
            from .views import gone  # the same page a GET of the dead link shows
            return gone(state, message, token)
        if active_lock(message) is not None:
            from .views import gate  # the lock page lives with the landing page
            return gate(message, token, 423)
        return session_ended_page(token)
    if not get_settings().replies_allowed:
        return notice(_("Replies are turned off"),
                      _("This message cannot be answered here. Please contact %(org)s another way.",
                        org=get_settings().org_name), 403, token)
    text = request.form.get("body", "")
    try:
        reply_message = add_reply(message, text, client_ip())
        # The reply waits for staff: the console counts the conversation as unread.
        reply_message.staff_unread_at = reply_message.staff_unread_at or clock.utcnow()
        attach_client_files(reply_message, request.files.getlist("files"))
    except UPLOAD_REFUSALS as refused:
        return refused_page(refused, message, token)
    except ValidationFailed as invalid:
        db.session.rollback()
        return render_thread(message, session, token, 422, reply_text=text, reply_error=invalid.message)
    db.session.commit()
    return render_thread(message, session, token, reply_sent=True)


@bp.post("/<token>/signout")
@post_limit
def signout(token: str):
    # Sign out always works, whatever became of the link: it ends the cookie's session, if any.
    session = current_session()
    message = thread_anchor(token)
    if session is not None:
        end_session(session, "signed_out")
        if message is not None and message.contact_id == session.contact_id:
            record_event(message, "signed_out", ip=client_ip())
        db.session.commit()
    language = session.contact.language if session is not None else (
        message.contact.language if message is not None else None)
    use_language(language)
    body, status = notice(_("You are signed out"),
                          _("Your secure messages are closed on this device. To read them again, open the "
                            "link you received and confirm who you are."), 200,
                          token if message is not None else None, state="signed_out")
    return clear_session_cookie(make_response(body, status))
