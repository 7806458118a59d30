"""Every viewer response carries the security headers: a table of every route and state, checked header by header."""
from __future__ import annotations

import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send

EXPECTED = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


def _path(secure_kwargs: dict, contact_kwargs: dict | None = None) -> str:
    contact = make_contact(first_name="Ada", **(contact_kwargs or {"pin": "2468"}))
    return link_path(send(contact, body="Body text", secure=True, **secure_kwargs))


def _signed_in(client, path: str) -> None:
    # The right PIN starts a session; the test client keeps its cookie for the next request.
    assert client.post(path, data={"pin": "2468"}).status_code == 200


# (case, endpoint it exercises, how to make the request) — each returns (method, path, form data)
CASES = [
    ("landing", "viewer.landing", lambda c: ("get", _path({}), None)),
    ("neutral 404", "viewer.landing", lambda c: ("get", "/m/not-a-real-token", None)),
    ("neutral 404 on POST", "viewer.open_message", lambda c: ("post", "/m/not-a-real-token", {"pin": "2468"})),
    ("PIN form after a wrong PIN", "viewer.open_message", lambda c: ("post", _path({}), {"pin": "0000"})),
    ("malformed PIN", "viewer.open_message", lambda c: ("post", _path({}), {"pin": "x"})),
    ("content", "viewer.open_message", lambda c: ("post", _path({}), {"pin": "2468"})),
    ("open without PIN", "viewer.open_message", lambda c: ("post", _path({"require_pin": False}), None)),
    ("send me a code", "viewer.send_code", lambda c: ("post", _path({}, {}) + "/code", None)),
    ("code refused (PIN method)", "viewer.send_code", lambda c: ("post", _path({}) + "/code", None)),
    ("reply sent", "viewer.reply", lambda c: _reply(c, "Thanks")),
    ("reply error", "viewer.reply", lambda c: _reply(c, "")),
    ("reply without a session", "viewer.reply", lambda c: ("post", _path({}) + "/reply", {"body": "hi"})),
    ("ask for a new link", "viewer.ask_for_link", lambda c: ("post", _path({}) + "/ask", None)),
    ("sign out", "viewer.signout", lambda c: _signout(c)),
    ("sign out without a session", "viewer.signout", lambda c: ("post", _path({}) + "/signout", None)),
    ("back to landing", "viewer.back_to_landing", lambda c: ("get", _path({}) + "/reply", None)),
    ("choose a PIN: refused", "viewer.choose_pin", lambda c: _choose(c, "12")),
    ("choose a PIN: saved", "viewer.choose_pin", lambda c: _choose(c, "5831")),
    ("choose a PIN without a choice open", "viewer.choose_pin", lambda c: ("post", _path({}) + "/pin", None)),
    ("attachment download", "viewer.download", lambda c: _download(c)),
    ("attachment without a session", "viewer.download", lambda c: ("get", _path({}) + "/a/unknown", None)),
    ("logo (none uploaded)", "viewer.logo", lambda c: ("get", "/m/_/logo", None)),
    ("theme stylesheet", "viewer.theme", lambda c: ("get", "/m/_/theme.css", None)),
    ("static stylesheet", "viewer.static", lambda c: ("get", "/m/_/static/viewer.css", None)),
    ("unknown path under /m/", None, lambda c: ("get", "/m/a/b/c", None)),
    ("wrong method", None, lambda c: ("put", _path({}), None)),
]


def _reply(client, text: str):
    path = _path({})
    _signed_in(client, path)
    return "post", path + "/reply", {"body": text}


def _signout(client):
    path = _path({})
    _signed_in(client, path)
    return "post", path + "/signout", None


def _download(client):
    from messaging.attachments.store import add_attachment
    from messaging.client.sessions import start_session
    from tests.support.files import PDF
    from viewer.session_cookie import COOKIE_NAME

    message = send(make_contact(first_name="Ada", pin="2468"), body="Body text", secure=True)
    attachment = add_attachment(message, "letter.pdf", PDF)
    raw, _ = start_session(message.contact, message, None)
    db.session.commit()
    client.set_cookie(COOKIE_NAME, raw, path="/m/")
    return "get", f"{link_path(message)}/a/{attachment.public_id}", None


def _choose(client, pin: str):
    from messaging.client.pin_choice import offer_choice
    from messaging.client.sessions import start_session
    from viewer.session_cookie import COOKIE_NAME

    message = send(make_contact(first_name="Ada"), body="Body text", secure=True, require_pin=True)
    raw, session = start_session(message.contact, message, None)
    assert offer_choice(session, message)  # as a right one-time code does
    db.session.commit()
    client.set_cookie(COOKIE_NAME, raw, path="/m/")
    return "post", f"{link_path(message)}/pin", {"pin": pin, "pin_confirm": pin}


def test_the_table_covers_every_viewer_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("viewer.")}
    covered = {endpoint for _case, endpoint, _make in CASES if endpoint}
    assert endpoints == covered, f"add a header case for {sorted(endpoints - covered)}"


@pytest.mark.parametrize("case, endpoint, make", CASES, ids=[c[0] for c in CASES])
def test_every_viewer_response_has_the_security_headers(ctx, client, case, endpoint, make):
    method, path, data = make(client)
    response = getattr(client, method)(path, data=data)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{case}: {name}"
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in csp and "*" not in csp and "unsafe" not in csp, f"{case}: {csp}"
    assert "ETag" not in response.headers
    if response.mimetype == "text/html" and not 300 <= response.status_code < 400 and response.status_code != 405:
        html = response.get_data(as_text=True)
        if "<html" in html and endpoint:
            assert '<meta name="robots" content="noindex">' in html, case
            assert "<script" not in html and "style=" not in html and "<style" not in html, case
    response.close()


def test_rate_limited_posts_get_a_clear_page_with_the_same_headers(make_app):
    app = make_app(VIEWER_POST_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        path = _path({})
    statuses = [client.post(path, data={"pin": "1234"}).status_code for _ in range(3)]
    assert statuses == [403, 403, 403]
    limited = client.post(path, data={"pin": "2468"})
    assert limited.status_code == 429
    assert "too many attempts" in limited.get_data(as_text=True).lower()
    assert "Body text" not in limited.get_data(as_text=True)
    for name, value in EXPECTED.items():
        assert limited.headers.get(name) == value
    # The budget is per link: another message's link from the same address still works.
    with app.app_context():
        other = _path({})
    assert client.post(other, data={"pin": "2468"}).status_code == 200


def test_theme_and_static_css_load_under_the_policy(ctx, client):
    change_setting(SYSTEM, "brand_color", "#1f5f8b")
    db.session.commit()
    css = client.get("/m/_/theme.css")
    assert css.status_code == 200 and "--brand: #1f5f8b" in css.get_data(as_text=True)
    assert "--brand-text: #ffffff" in css.get_data(as_text=True)
    static = client.get("/m/_/static/viewer.css")
    assert static.status_code == 200 and static.mimetype == "text/css"
    text = static.get_data(as_text=True)
    static.close()
    assert "--brand" in text and "@import" not in text and "url(" not in text  # nothing from elsewhere
