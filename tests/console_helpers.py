"""Helpers for console tests: sign in through the real login form."""
from __future__ import annotations

import re

from seeds.factories import make_user

PASSWORD = "correct horse battery"


def signed_in_client(app, role: str = "admin", email: str | None = None):
    """A test client signed in as a new user with ``role`` (through POST /login)."""
    email = email or f"{role}-{os_random()}@example.com"
    with app.app_context():
        make_user(email, role=role, password=PASSWORD)
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if app.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_from(client.get("/login").data)
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data
    return client


def os_random() -> str:
    import os

    return os.urandom(4).hex()


def csrf_token_from(html: bytes | str) -> str:
    """The CSRF token a page put in its form."""
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    assert match, "the page has no CSRF token"
    return match.group(1)
