"""Issue 2's story in Chromium: staff send a secure message; the client opens it with a PIN, reads and
replies in a separate browser context with no console cookie; staff see the reply in the thread."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Message
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.records import event_kinds

pytestmark = pytest.mark.browser
BODY = "Your thyroid panel is normal. No change to your dose."


def test_staff_send_secure_client_reads_with_pin_and_replies_staff_see_it(live_server, browser):
    app = live_server.app
    with app.app_context():
        make_user("frontdesk@example.com", role="staff", password=PASSWORD)
        contact = make_contact(first_name="Priya", last_name="Natarajan", pin="2468")
        contact_id, phone = contact.id, contact.phone

    staff = browser.new_context()
    console = staff.new_page()
    console.set_default_timeout(8000)
    sign_in_page(console, live_server.url, "frontdesk@example.com")
    expect(console).to_have_url(re.compile(r"/admin/$"))

    console.goto(f"{live_server.url}/admin/compose/?contact_id={contact_id}")
    console.get_by_label("Message").fill(BODY)
    expect(console.get_by_label("Send securely")).to_be_checked()
    panel = console.locator("#compose-panel")
    expect(panel).to_contain_text("secure — set by the global default")
    expect(panel).to_contain_text("you have a new secure message. Open:")
    expect(panel).not_to_contain_text("thyroid")
    console.get_by_role("button", name="Send message").click()
    expect(console).to_have_url(re.compile(rf"/admin/conversations/{contact_id}$"))
    expect(console.get_by_text("Sent securely")).to_be_visible()

    with app.app_context():
        assert dispatch_once().sent == 1  # what the scheduler does every few seconds
        notices = read_outbox(phone)
    assert len(notices) == 1 and "thyroid" not in notices[0]["body"]
    assert notices[0]["body"].startswith("Sealed demo clinic: you have a new secure message")
    link = re.search(r"https?://\S+/m/\S+", notices[0]["body"]).group(0)

    client_context = browser.new_context()  # the client's phone: no console cookie
    client = client_context.new_page()
    client.set_default_timeout(8000)
    client.goto(link)
    expect(client.get_by_role("heading", name="A secure message from Sealed demo clinic")).to_be_visible()
    expect(client.get_by_text(BODY)).to_have_count(0)  # a link preview must not reveal the content
    client.get_by_label("PIN").fill("1111")
    client.get_by_role("button", name="Open message").click()
    expect(client.get_by_role("alert")).to_contain_text("That PIN is not right. 4 attempts left")
    client.get_by_label("PIN").fill("2468")
    client.get_by_role("button", name="Open message").click()
    expect(client.get_by_text(BODY)).to_be_visible()
    client.get_by_label("Your reply to Sealed demo clinic").fill("Thanks! Should I still come in on Friday?")
    client.get_by_role("button", name="Send reply").click()
    expect(client.get_by_text("Your reply was sent")).to_be_visible()
    # One cookie only: the verified session, scoped to the viewer, out of reach of scripts and other sites.
    [cookie] = client_context.cookies()
    assert (cookie["name"], cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == (
        "sealed_viewer", "/m/", True, "Strict")

    console.reload()
    thread = console.locator("ol.sealed-thread > li")
    expect(thread).to_have_count(2)
    expect(thread.nth(0)).to_have_attribute("data-direction", "out")
    expect(thread.nth(0)).to_contain_text(BODY)
    expect(thread.nth(0)).to_contain_text("Viewed")
    expect(thread.nth(1)).to_have_attribute("data-direction", "in")
    expect(thread.nth(1)).to_contain_text("Should I still come in on Friday?")

    with app.app_context():
        message = db.session.execute(db.select(Message).filter_by(direction="out")).scalar_one()
        kinds = event_kinds(message)
    assert kinds[:2] == ["queued", "sent"]
    for kind in ("link_opened", "pin_failed", "verified", "viewed", "replied"):
        assert kind in kinds
    staff.close()
    client_context.close()
