"""Browser: an admin exports a contact (a JSON file downloads) and erases them from the contact page, typing the
confirmation, under the console's Content-Security-Policy with no violation reported."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from messaging.db import db
from messaging.models import Message
from seeds.factories import make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.raw_scan import FIRST, SECURE_BODY, distinctive_contact, reload_contact

pytestmark = pytest.mark.browser


def test_an_admin_exports_then_erases_a_contact_in_the_browser(live_server, browser):
    app = live_server.app
    with app.app_context():
        make_user("boss@example.com", role="admin", password=PASSWORD)
        scene = distinctive_contact()
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(8000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in_page(page, live_server.url, "boss@example.com")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto(f"{live_server.url}/admin/contacts/details/?id={scene.contact_id}")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export everything (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == f"contact-{scene.contact_id}-export.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert SECURE_BODY in [m["body"] for m in document["messages"]]

    page.get_by_role("link", name="Erase contact…").click()
    page.get_by_label(re.compile("To confirm, type the contact's id")).fill("ERASE")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("heading", name=f"Contact {scene.contact_id} erased")).to_be_visible()
    page.get_by_role("link", name="Back to the contact").click()
    expect(page.locator("[data-contact-erased]")).to_contain_text("Erased on")
    expect(page.get_by_role("link", name="Erase contact…")).to_have_count(0)
    assert FIRST not in page.content()
    assert problems == []
    context.close()
    with app.app_context():
        assert reload_contact(scene.contact_id).erased_at is not None
        assert db.session.get(Message, scene.secure_id).content_destroyed_reason == "erasure"
