"""The console as staff meet it: sign in through the real login form, read the CSRF token a page carries."""
from __future__ import annotations

import os
import re

from messaging.db import db
from messaging.models import User
from seeds.factories import make_user

PASSWORD = "correct horse battery"


def sign_in(app, email: str, password: str = PASSWORD, client=None, **kw):
    """POST /login as ``email`` (no CSRF token); the client and the login response, for tests of the login itself."""
    client = client or app.test_client()
    return client, client.post("/login", data={"email": email, "password": password}, **kw)


def signed_in_client(app, role: str = "admin", email: str | None = None):
    """A test client signed in as a new user with ``role`` (through POST /login, with the form's CSRF token)."""
    email = email or f"{role}-{os.urandom(4).hex()}@example.com"
    with app.app_context():
        make_user(email, role=role, password=PASSWORD)
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if app.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_from(client.get("/login").data)
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data
    return client


def csrf_token_from(html: bytes | str) -> str:
    """The CSRF token a page put in its form."""
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def user_id(app, email: str) -> int:
    """The id of the user with this e-mail address."""
    with app.app_context():
        return db.session.execute(db.select(User.id).filter_by(email=email)).scalar_one()
