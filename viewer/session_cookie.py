"""The viewer's one cookie: a verified client's session, HttpOnly, SameSite=Strict, Secure behind TLS.

Scoped to the viewer's path so the console never sees it. SameSite=Strict keeps it off every
request another site starts, which is what makes the viewer's forms safe without a CSRF token.
A link opened from a web-mail page arrives without the cookie (a cross-site navigation); the
landing page's form, posted from the viewer itself, carries it, and a live session then skips the
proof of identity.
"""
from __future__ import annotations

from flask import Response, request

from messaging.client.sessions import resume_session
from messaging.models import ViewerSession

from .blueprint import URL_PREFIX

COOKIE_NAME = "sealed_viewer"
MEMO_KEY = "sealed.viewer_session"


def current_session(contact_id: int | None = None) -> ViewerSession | None:
    """The request's live session (for ``contact_id`` when given), renewed; None otherwise. Memoised per request."""
    # Kept in the request's environ, not in g: an app context (and its g) may outlive one request.
    if MEMO_KEY not in request.environ:
        request.environ[MEMO_KEY] = resume_session(request.cookies.get(COOKIE_NAME))
    session = request.environ[MEMO_KEY]
    if session is not None and contact_id is not None and session.contact_id != contact_id:
        return None
    return session


def set_session_cookie(response: Response, raw: str) -> Response:
    # No Max-Age: the idle limit is kept on the server; the cookie ends with the browser at the latest.
    response.set_cookie(COOKIE_NAME, raw, path=URL_PREFIX + "/", httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


def clear_session_cookie(response: Response) -> Response:
    response.delete_cookie(COOKIE_NAME, path=URL_PREFIX + "/", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response
