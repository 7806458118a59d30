"""The verified client's secure thread: read, reply, sign out. Every route needs a live session."""
from __future__ import annotations

from flask import make_response, render_template, request

from messaging.client.access import MAX_REPLY_LENGTH, add_reply, mark_viewed, resolve_link
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.messages import message_content
from messaging.models import Message, ViewerSession
from messaging.security.lockout import active_lock
from messaging.settings import get_settings

from .blueprint import bp, post_limit
from .pages import client_ip, not_found, notice
from .session_cookie import current_session


def render_thread(message: Message, session: ViewerSession, token: str, status: int = 200, **extra):
    """The thread page for the session's contact, opened through ``message``'s link. Records the view."""
    mark_viewed(message, client_ip())
    db.session.commit()
    subject, body = message_content(message)
    context = {"token": token, "subject": subject, "body": body, "sent_at": message.created_at,
               "replies_allowed": get_settings().replies_allowed, "max_reply": MAX_REPLY_LENGTH,
               "reply_text": "", "reply_error": None, "reply_sent": False}
    context.update(extra)
    return make_response(render_template("viewer/content.html", **context), status)


@bp.post("/<token>/reply")
@post_limit
def reply(token: str):
    message = resolve_link(token)
    if message is None:
        return not_found()
    if active_lock(message) is not None:
        from .views import gate  # the lock page lives with the landing page
        return gate(message, token, 423)
    if not get_settings().replies_allowed:
        return notice("Replies are turned off", "This message cannot be answered here. "
                      "Please contact the sender another way.", 403, token)
    session = current_session(message.contact_id)
    if session is None:
        return notice("Please open the message again",
                      "For your privacy, you were signed out after a while without activity.", 403, token,
                      state="session_ended")
    text = request.form.get("body", "")
    try:
        add_reply(message, text, client_ip())
    except ValidationFailed as invalid:
        db.session.rollback()
        return render_thread(message, session, token, 422, reply_text=text, reply_error=invalid.message)
    db.session.commit()
    return render_thread(message, session, token, reply_sent=True)
