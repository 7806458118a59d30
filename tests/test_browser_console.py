"""Browser: the console under its Content-Security-Policy. Every page an admin visits, the composer's live
panel, the list filters and the message content work, and Chromium reports no blocked script, style,
image or font; the menu bar shows who is signed in, and Sign out ends the session."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser
BODY = "Your invoice for March is attached to the portal."


def _watch(page) -> list[str]:
    """Everything Chromium complains about: CSP refusals arrive as console errors, failed loads as events."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: script error {error}"))
    # A load cut short by the next navigation is not a failure (net::ERR_ABORTED); a refused or missing one is.
    page.on("requestfailed", lambda req: problems.append(f"{page.url}: failed {req.url} {req.failure}")
            if "ERR_ABORTED" not in (req.failure or "") else None)
    return problems


def test_every_console_page_runs_under_the_policy_without_a_violation(live_server, browser):
    app = live_server.app
    with app.app_context():
        make_user("boss@example.com", role="admin", password=PASSWORD)
        staff = make_user("clerk@example.com", role="staff", password=PASSWORD)
        contact = make_contact(first_name="Noor", last_name="Haddad", pin="2468", tags=["vip"])
        message = send_message(MessageRequest(contact=contact, channel="sms", body=BODY, secure=True), SYSTEM)
        db.session.commit()
        contact_id, message_id, staff_id = contact.id, message.id, staff.id

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(8000)
    problems = _watch(page)
    base = live_server.url

    sign_in_page(page, base, "boss@example.com")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    pages = ["/admin/", "/admin/contacts/", f"/admin/contacts/details/?id={contact_id}",
             f"/admin/contacts/pin/?id={contact_id}", "/admin/contacts/new/", f"/admin/contacts/edit/?id={contact_id}",
             "/admin/messages/", f"/admin/messages/details/?id={message_id}", "/admin/conversations/",
             f"/admin/conversations/{contact_id}", "/admin/users/", "/admin/users/new/",
             f"/admin/users/role/?id={staff_id}", f"/admin/users/reset-password/?id={staff_id}", "/admin/api-keys/",
             "/admin/api-keys/new/", "/admin/audit/", "/admin/settings/", "/admin/matrix/", "/admin/templates/",
             "/admin/scheduled/", "/admin/failed-deliveries/", "/admin/account/",
             "/admin/segments/", "/admin/segments/new", "/admin/imports/", "/admin/webhooks/", "/admin/webhooks/new/"]
    for path in pages:
        page.goto(base + path)
        # The menu bar on every page: who is signed in, and a Sign out button.
        expect(page.locator("[data-signed-in-as]")).to_have_text("boss@example.com")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        # Bootstrap's styles applied (a stylesheet the policy refused would leave the bar unstyled).
        assert page.locator("nav.navbar").evaluate("el => getComputedStyle(el).display") == "flex", path

    # Flask-Admin's list filter is script-driven: adding one works.
    page.goto(f"{base}/admin/contacts/")
    page.get_by_role("button", name="Add Filter").click()
    page.get_by_role("button", name="Tag").click()
    page.locator("input.filter-val").fill("vip")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"flt\d+_tag_is=vip"))
    expect(page.get_by_text("Noor", exact=True)).to_be_visible()

    # Opening a message's content (a POST form), then the composer's live panel (fetch + select2).
    page.goto(f"{base}/admin/messages/details/?id={message_id}")
    page.get_by_role("button", name="Open content").click()
    expect(page.get_by_text(BODY)).to_be_visible()
    page.goto(f"{base}/admin/compose/")
    page.locator("#s2id_contact_id").click()
    page.keyboard.type("Noor")
    page.keyboard.press("Enter")
    page.get_by_label("Message").fill("See you on Tuesday.")
    expect(page.locator("#compose-panel")).to_contain_text("What Noor will receive by SMS")
    page.goto(f"{base}/admin/conversations/{contact_id}")
    expect(page.get_by_text(BODY)).to_be_visible()
    page.locator("label[for=secure]").click()  # standard: the panel now shows the text itself
    page.get_by_role("textbox", name="Message").fill("Thanks for your reply.")
    expect(page.locator("#compose-panel")).to_contain_text("Thanks for your reply.")

    assert problems == [], "\n".join(problems)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{base}/admin/contacts/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    context.close()
