"""Browser: destroyed content in Chromium, under the real CSP — staff's thread and the client's thread say
"Content destroyed by retention on …" where it was, and the client's page has no accessibility violation."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.retention import run_retention
from seeds.factories import make_contact, make_user
from tests.support.axe import axe_fixture, describe  # noqa: F401  (axe_fixture: the `axe` fixture)
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.messages import link_path, send
from tests.support.retention import secure_scene, set_settings
from viewer.session_cookie import COOKIE_NAME

pytestmark = pytest.mark.browser


def _scene(app, clock) -> dict:
    with app.app_context():
        clock.ahead()
        make_user("keeper@example.com", role="admin", password=PASSWORD)
        set_settings(retention_days=3)
        contact = make_contact(first_name="Mara", pin="2468")
        scene = secure_scene(contact, body="Culture: negative")
        due = clock.at(scene.message.expires_at + timedelta(days=3))
        assert run_retention(SYSTEM).messages == 2
        live = send(contact, body="Your follow-up is booked", secure=True, require_pin=True)
        raw, _ = start_session(contact, live, "203.0.113.9")
        db.session.commit()
        return {"contact": contact.id, "live_path": link_path(live), "cookie": raw, "due": due}


def test_staff_and_the_client_see_where_content_was_destroyed(live_server, browser, axe, clock):
    facts = _scene(live_server.app, clock)
    base = live_server.url
    when = f"{facts['due'].day} {facts['due']:%b %Y}"

    staff = browser.new_context().new_page()
    sign_in_page(staff, base, "keeper@example.com")
    expect(staff).to_have_url(re.compile(r"/admin/$"))
    staff.goto(f"{base}/admin/conversations/{facts['contact']}")
    notices = staff.locator("[data-content-destroyed='retention']")
    expect(notices).to_have_count(2)
    expect(notices.first).to_contain_text(f"Content destroyed by retention on {when}")
    expect(staff.get_by_text("Culture: negative")).to_have_count(0)

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_cookies([{"name": COOKIE_NAME, "value": facts["cookie"], "domain": urlsplit(base).hostname,
                          "path": "/m/"}])
    client = context.new_page()
    client.goto(base + facts["live_path"])
    expect(client.get_by_text("Your follow-up is booked")).to_be_visible()
    expect(client.locator("[data-item-state='destroyed']")).to_contain_text(
        f"Content destroyed by retention on {facts['due'].day} {facts['due']:%B %Y}")
    found = axe.check(client)
    assert not found, describe(found)
