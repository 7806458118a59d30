"""Every console response carries the security headers: a walk over every console route of the URL map, signed
in as an admin with seeded rows, plus the sign-in page, redirects, error pages and static files. Pages that show
decrypted content (and, in the console, every page but static files) say Cache-Control: no-store."""
from __future__ import annotations

import io
import re

import pytest
from flask import url_for

from messaging.attachments.store import add_attachment
from messaging.audience.import_jobs import create_import
from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import ApiKey, Delivery, User
from messaging.outreach.broadcasts import create_broadcast
from messaging.outreach.campaigns import create_campaign
from seeds.factories import make_api_key, make_contact, make_template, make_user
from tests.support.api import caller
from tests.support.console import csrf_token_from, signed_in_client

# The faces that are not the console; each sets its own headers.
OTHER_FACES = ("viewer", "api", "hooks", "health")
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
BODY = "Your biopsy result is benign."
# Static files of the console, one that exists for each endpoint (the app's own folder has none: a 404).
STATIC_FILES = {"admin.static": "vendor/jquery.min.js", "compose_assets.static": "console.css",
                "static": "no-such-file.css"}
# Routes that show decrypted content or a secret shown once: these must never be stored by a cache.
CONTENT_ROUTES = ("conversations.thread", "messages.content_view", "compose.preview", "compose.index",
                  "users.password_reset_view", "api_keys.create_view")


def assert_console_headers(response, label: str) -> dict[str, str]:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{label}: {name}"
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"{label}: no Content-Security-Policy"
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'", label
    assert directives["frame-ancestors"] == "'none'", label
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", directives["script-src"]), label
    assert directives["style-src"] == "'self'", label
    # Nothing from another origin, no wildcard, no unsafe-inline/-eval/-hashes.
    assert "http" not in csp and "*" not in csp and "unsafe" not in csp, f"{label}: {csp}"
    return directives


def assert_clean_html(response, directives: dict[str, str], label: str) -> None:
    """What the policy would refuse must not be in the page: inline handlers and styles, scripts without the nonce."""
    if response.mimetype != "text/html":
        return
    html = response.get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), f"{label}: inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", html) and "<style" not in html, f"{label}: inline style"
    nonce = directives["script-src"].split("'nonce-")[1].rstrip("'")
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, f"{label}: {tag}"
        assert re.search(r'\ssrc="/', tag), f"{label}: a script that is not one of our files: {tag}"


@pytest.fixture
def seeded(app):
    """An admin's client and one row of each kind the console's pages take an id of."""
    client = signed_in_client(app, "admin")
    with app.app_context():
        contact = make_contact(first_name="Ada", pin="2468")
        message = send_message(MessageRequest(contact=contact, channel="sms", body=BODY, secure=True), SYSTEM)
        attachment = add_attachment(message, "walk.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
        db.session.commit()
        delivery = db.session.execute(db.select(Delivery).filter_by(message_id=message.id)).scalars().first()
        staff = make_user("walked@example.com", role="staff")
        template = make_template(slug="walk-template")
        make_api_key(name="walk-key")
        key_id = db.session.execute(db.select(ApiKey.id).filter_by(name="walk-key")).scalar_one()
        segment = create_segment(SYSTEM, "Walked", {"match": "all", "conditions": [{"tag": "vip"}]})
        upload = create_import(SYSTEM, "walk.csv", io.BytesIO(b"first_name,phone\nAda,not a phone\n"))
        db.session.flush()
        broadcast = create_broadcast(SYSTEM, name="Walk", segment_ids=[segment.id], template_slug="walk-template")
        campaign = create_campaign(SYSTEM, name="Walked", segment_id=segment.id,
                                   steps=[{"template": template.slug, "delay": {"after": "enrolment", "minutes": 0}}])
        db.session.commit()
        ids = {"contacts": contact.id, "messages": message.id, "users": staff.id, "api_keys": key_id,
               "templates": template.id, "scheduled": delivery.id, "failed_deliveries": delivery.id,
               "imports": upload.id}
        path_values = {"contact_id": contact.id, "key": "healthcare", "export_type": "csv", "segment_id": segment.id,
                       "broadcast_id": broadcast.id, "campaign_id": campaign.id, "public_id": attachment.public_id}
    return client, ids, path_values


def console_rules(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint not in OTHER_FACES:
            yield rule


def console_url(app, rule, ids: dict, path_values: dict) -> str:
    values = {}
    for argument in rule.arguments:
        if argument == "filename":
            values["filename"] = STATIC_FILES[rule.endpoint]
        else:
            assert argument in path_values, f"add a value for <{argument}> of {rule.endpoint} to the walk"
            values[argument] = path_values[argument]
    blueprint = rule.endpoint.rpartition(".")[0]
    if blueprint in ids and not rule.endpoint.endswith(".static"):
        values["id"] = ids[blueprint]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_console_route_answers_with_the_security_headers(app, seeded):
    client, ids, path_values = seeded
    walked = []
    for rule in sorted(console_rules(app), key=lambda r: r.endpoint):
        if rule.endpoint == "auth.logout":
            continue  # POST only (a GET is a 405, walked below); signing out here would end the walk
        url = console_url(app, rule, ids, path_values)
        response = client.get(url)
        label = f"GET {url} ({rule.endpoint}, {response.status_code})"
        assert response.status_code < 500, label
        directives = assert_console_headers(response, label)
        if rule.endpoint in STATIC_FILES:
            assert response.headers.get("Cache-Control") != "no-store", f"{label}: static files stay cacheable"
        else:
            assert response.headers.get("Cache-Control") == "no-store", label
            assert "ETag" not in response.headers, label
            assert_clean_html(response, directives, label)
        response.close()
        walked.append(rule.endpoint)
    assert len(walked) > 60, walked
    # The walk really went through the console: its areas, sign-in and static files.
    for endpoint in ("auth.login", "admin.index", "contacts.details_view", "conversations.thread", "users.role_view",
                     "users.password_reset_view", "account.index", "matrix.edit", "admin.static", "root"):
        assert endpoint in walked, endpoint


def test_content_routes_say_no_store(app, seeded):
    client, ids, _ = seeded
    contact_id, message_id = ids["contacts"], ids["messages"]
    answers = {
        "conversations.thread": client.get(f"/admin/conversations/{contact_id}"),
        "messages.content_view": client.post(f"/admin/messages/content/?id={message_id}"),
        "compose.preview": client.post("/admin/compose/preview", data={
            "contact_id": contact_id, "channel": "sms", "body": "Standard text shown in the panel",
            "secure_touched": "1"}),
        "compose.index": client.post("/admin/compose/", data={
            "contact_id": contact_id, "channel": "sms", "body": "Standard text shown in the panel",
            "secure_touched": "1", "action": "preview"}),
        "users.password_reset_view": client.post(f"/admin/users/reset-password/?id={ids['users']}"),
        "api_keys.create_view": client.post("/admin/api-keys/new/", data={"name": "shown once", "role": "staff"}),
    }
    assert set(answers) == set(CONTENT_ROUTES)
    shown = {"conversations.thread": BODY, "messages.content_view": BODY,
             "compose.preview": "Standard text shown in the panel", "compose.index": "Standard text shown in the panel",
             "users.password_reset_view": "Copy this password now", "api_keys.create_view": "Copy this key now"}
    for endpoint, response in answers.items():
        assert response.status_code == 200, endpoint
        assert shown[endpoint] in response.get_data(as_text=True), endpoint
        assert response.headers["Cache-Control"] == "no-store", endpoint
        assert_console_headers(response, endpoint)


def test_the_api_thread_says_no_store(app):
    api = caller(app)
    with app.app_context():
        contact = make_contact(first_name="Bea")
        send_message(MessageRequest(contact=contact, channel="sms", body=BODY, secure=True), SYSTEM)
        db.session.commit()
        contact_id = contact.id
    response = api.get(f"/contacts/{contact_id}/thread")
    assert response.status_code == 200 and response.json["messages"][0]["body"] == BODY
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("case, path, role, status", [
    ("sign-in page", "/login", None, 200),
    ("root redirect", "/", None, 302),
    ("redirect to sign-in", "/admin/contacts/", None, 302),
    ("unknown page", "/no-such-page", "admin", 404),
    ("unknown admin page", "/admin/no-such-page/", "admin", 404),
    ("admin page refused to staff", "/admin/users/", "staff", 403),
    ("sign-out by GET", "/logout", "staff", 405),
    ("static file", "/admin/assets/compose/console.css", None, 200),
    ("missing static file", "/admin/static/no-such.js", None, 404),
])
def test_sign_in_redirects_and_error_pages_have_the_headers(app, case, path, role, status):
    client = signed_in_client(app, role) if role else app.test_client()
    response = client.get(path)
    assert response.status_code == status, case
    directives = assert_console_headers(response, case)
    assert_clean_html(response, directives, case)


def test_a_server_error_page_has_the_headers(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/admin-boom", "boom", boom)
    response = app.test_client().get("/admin-boom")
    assert response.status_code == 500
    assert_console_headers(response, "500")
    assert response.headers["Cache-Control"] == "no-store"


def test_each_response_has_its_own_nonce_and_the_page_uses_it(app):
    client = signed_in_client(app, "staff")
    first, second = client.get("/admin/compose/"), client.get("/admin/compose/")
    nonces = [re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    assert f'<script nonce="{nonces[0]}"' in first.get_data(as_text=True)
    assert f'src="/admin/assets/compose/compose.js" nonce="{nonces[0]}"' in first.get_data(as_text=True)


def test_the_other_faces_keep_their_own_headers(app):
    viewer = app.test_client().get("/m/not-a-real-token")
    assert viewer.headers["Referrer-Policy"] == "no-referrer"  # the viewer's, stricter than the console's
    assert "nonce-" not in viewer.headers["Content-Security-Policy"]
    api = app.test_client().get("/api/v1/openapi.json")
    assert "Content-Security-Policy" not in api.headers


def test_the_sign_out_control_carries_a_csrf_token_on_every_kind_of_page(csrf_app):
    client = signed_in_client(csrf_app, "admin", email="signout@example.com")
    with csrf_app.app_context():
        contact_id = make_contact(first_name="Cy").id
        user_id = db.session.execute(db.select(User.id).filter_by(email="signout@example.com")).scalar_one()
    pages = ["/admin/", "/admin/contacts/", f"/admin/contacts/details/?id={contact_id}", "/admin/compose/",
             f"/admin/conversations/{contact_id}", "/admin/users/", f"/admin/users/role/?id={user_id}",
             "/admin/settings/", "/admin/matrix/", "/admin/templates/", "/admin/scheduled/", "/admin/account/"]
    token = None
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        menu = html.split("data-signed-in", 1)[1].split("</nav>", 1)[0]
        assert "signout@example.com" in menu, path
        form = re.search(r'<form method="post" action="/logout"[^>]*>(.*?)</form>', menu, re.S)
        assert form and ">Sign out</button>" in form.group(1), path
        token = csrf_token_from(form.group(1))
    assert client.post("/logout").status_code == 400  # without the token: refused
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302
