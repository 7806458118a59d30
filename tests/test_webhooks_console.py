"""The console's webhook page: admins only, register with the secret shown once, delete after confirming,
and each endpoint's delivery log with "Send again" — through real requests, CSRF on; one pass in Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from messaging.db import db
from messaging.models import AuditEntry
from messaging.models.webhooks import WebhookDelivery, WebhookEndpoint
from messaging.webhooks import emit
from messaging.webhooks.dispatch import dispatch_webhooks_until_idle
from seeds.factories import make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD, csrf_token_from, signed_in_client
from tests.support.webhook_receiver import Receiver, register


@pytest.fixture
def app(make_app):
    return make_app(WTF_CSRF_ENABLED=True, WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_MAX_ATTEMPTS=1)


def _post(client, path, data):
    token = csrf_token_from(client.get("/admin/webhooks/new/").data)
    return client.post(path, data={"csrf_token": token, **data})


def test_staff_cannot_reach_the_page(app):
    staff = signed_in_client(app, role="staff")
    for path in ("/admin/webhooks/", "/admin/webhooks/new/", "/admin/webhooks/log/?id=1"):
        assert staff.get(path).status_code == 403, path


def test_register_shows_the_secret_once_then_the_list_never_does(app):
    admin = signed_in_client(app)
    empty = admin.get("/admin/webhooks/").get_data(as_text=True)
    assert "No webhook endpoints yet" in empty
    created = _post(admin, "/admin/webhooks/new/", {"url": "http://127.0.0.1:9/hooks", "events": [
        "message.sent", "contact.opted_out"]})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(whsec_[0-9a-f]+)"', created.get_data(as_text=True)).group(1)
    listing = admin.get("/admin/webhooks/").get_data(as_text=True)
    assert "http://127.0.0.1:9/hooks" in listing and "message.sent" in listing and "contact.opted_out" in listing
    assert secret not in listing
    with app.app_context():
        endpoint = db.session.execute(select(WebhookEndpoint)).scalar_one()
        assert endpoint.events == ["message.sent", "contact.opted_out"]
        assert db.session.execute(select(AuditEntry).filter_by(action="webhook.create")).scalar_one()


def test_a_refused_url_or_no_event_is_explained_and_nothing_is_registered(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)  # private targets refused, as in production
    admin = signed_in_client(app)
    refused = _post(admin, "/admin/webhooks/new/",
                    {"url": "https://169.254.169.254/latest", "events": ["message.sent"]})
    assert refused.status_code == 422 and "link-local" in refused.get_data(as_text=True)
    none = _post(admin, "/admin/webhooks/new/", {"url": "https://93.184.216.34/hook"})
    assert none.status_code == 422 and "at least one event type" in none.get_data(as_text=True)
    forged = admin.post("/admin/webhooks/new/", data={"url": "https://93.184.216.34/hook", "events": "message.sent"})
    assert forged.status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.execute(select(WebhookEndpoint)).first() is None


def test_delete_asks_first_then_cancels_what_is_pending(app):
    admin = signed_in_client(app)
    with app.app_context():
        endpoint_id, _ = register("http://127.0.0.1:9/hooks", ["message.sent"])
        emit("message.sent", message_id="m_1")
        db.session.commit()
    question = admin.get(f"/admin/webhooks/delete/?id={endpoint_id}")
    assert question.status_code == 200 and "pending deliveries are cancelled" in question.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).deleted_at is None  # asking changed nothing
    done = _post(admin, f"/admin/webhooks/delete/?id={endpoint_id}", {})
    assert done.status_code == 302
    assert "No webhook endpoints yet" in admin.get("/admin/webhooks/").get_data(as_text=True)
    assert admin.get(f"/admin/webhooks/log/?id={endpoint_id}").status_code == 404
    with app.app_context():
        assert db.session.execute(select(WebhookDelivery.status)).scalars().all() == ["cancelled"]


def test_the_delivery_log_shows_each_attempt_and_send_again_posts_the_same_event(app):
    admin = signed_in_client(app)
    hook = Receiver(answer=500).start()
    try:
        with app.app_context():
            endpoint_id, hook.secret = register(hook.url, ["message.sent"])
            event_id = emit("message.sent", message_id="m_1", status="sent").public_id
            db.session.commit()
            dispatch_webhooks_until_idle(max_seconds=10)  # WEBHOOK_MAX_ATTEMPTS=1: failed at once
        log = admin.get(f"/admin/webhooks/log/?id={endpoint_id}").get_data(as_text=True)
        assert event_id in log and "failed" in log and "HTTP 500" in log and "Send again" in log
        with app.app_context():
            delivery_id = db.session.execute(select(WebhookDelivery.id)).scalar_one()
        hook.answer = 200
        again = _post(admin, f"/admin/webhooks/send-again/?id={endpoint_id}", {"delivery": delivery_id})
        assert again.status_code == 302
        assert "queued to be posted again" in admin.get(again.headers["Location"]).get_data(as_text=True)
        with app.app_context():
            dispatch_webhooks_until_idle(max_seconds=10)
        log = admin.get(f"/admin/webhooks/log/?id={endpoint_id}").get_data(as_text=True)
        assert "delivered" in log and "HTTP 200" in log
        assert hook.counts[event_id] == 1 and len(hook.posts) == 2
    finally:
        hook.stop()


def test_the_log_pages_fifty_at_a_time(app):
    admin = signed_in_client(app)
    with app.app_context():
        endpoint_id, _ = register("http://127.0.0.1:9/hooks", ["message.sent"])
        ids = [emit("message.sent", message_id=f"m_{n}").public_id for n in range(55)]
        db.session.commit()
    first = admin.get(f"/admin/webhooks/log/?id={endpoint_id}").get_data(as_text=True)
    second = admin.get(f"/admin/webhooks/log/?id={endpoint_id}&page=2").get_data(as_text=True)
    assert ids[-1] in first and ids[0] not in first
    assert ids[0] in second and ids[-1] not in second


@pytest.mark.browser
def test_in_chromium_register_read_the_secret_and_delete_under_the_policy(make_live_server, browser):
    server = make_live_server(WTF_CSRF_ENABLED=True, WEBHOOK_ALLOW_PRIVATE=True)
    with server.app.app_context():
        make_user("boss@example.com", role="admin", password=PASSWORD)
    page = browser.new_context().new_page()
    page.set_default_timeout(8000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    sign_in_page(page, server.url, "boss@example.com")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto(server.url + "/admin/webhooks/")
    page.get_by_role("link", name="Register an endpoint").click()
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_label("message.viewed").check()
    page.get_by_role("button", name="Register").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("http://127.0.0.1:9/hooks")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_text("Nothing posted to this endpoint yet")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No webhook endpoints yet")).to_be_visible()
    assert problems == [], problems
