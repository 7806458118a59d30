"""Browser: staff see a secure reply waiting in the menu, answer it, and are asked before answering in plain SMS."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from messaging.client.access import add_reply
from messaging.db import db
from messaging.models import Message
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.messages import send

pytestmark = pytest.mark.browser


def test_a_secure_reply_is_answered_securely_unless_standard_is_confirmed(live_server, page):
    with live_server.app.app_context():
        make_user("nurse@example.com", role="staff", password=PASSWORD)
        contact = make_contact(first_name="Robin", last_name="Hale", pin="2468")
        message = send(contact, body="Your scan is clear", secure=True)
        reply = add_reply(message, "Thank you. Do I need a follow-up?", ip="203.0.113.4")
        reply.staff_unread_at = message.created_at  # as the viewer marks a reply for staff
        db.session.commit()
        contact_id = contact.id

    page.set_default_timeout(5000)
    sign_in_page(page, live_server.url, "nurse@example.com", next_path="/admin/")
    page.wait_for_url(f"{live_server.url}/admin/")
    menu_entry = page.get_by_role("link", name="Conversations")
    expect(menu_entry.locator("[data-unread-count]")).to_have_text("1 unread")

    menu_entry.click()
    page.locator(f'tr[data-contact-id="{contact_id}"] a').first.click()
    page.wait_for_url(f"{live_server.url}/admin/conversations/{contact_id}")
    expect(page.locator("[data-new]")).to_have_count(1)
    expect(page.get_by_role("link", name="Conversations").locator("[data-unread-count]")).to_have_count(0)
    toggle = page.get_by_label("Send securely")
    expect(toggle).to_be_checked()

    page.locator("label[for=secure]").click()  # staff switch it off
    expect(toggle).not_to_be_checked()
    page.get_by_role("textbox", name="Message").fill("Yes, call us to book one")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("[data-confirm-standard]")).to_contain_text("This conversation is secure")
    with live_server.app.app_context():
        assert db.session.query(Message).filter_by(contact_id=contact_id, direction="out").count() == 1

    page.get_by_role("button", name="Send as standard anyway").click()
    page.wait_for_url(f"{live_server.url}/admin/conversations/{contact_id}")
    expect(page.locator('li[data-direction="out"][data-mode="standard"]')).to_have_count(1)
