"""Browser: staff compose in Chromium, watch the live panel warn, then see the policy refuse."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Delivery, Message
from messaging.settings import change_setting
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, email: str, next_path: str) -> None:
    sign_in_page(page, live_server.url, email, next_path=next_path)
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_staff_switch_a_lab_result_to_standard_see_the_warning_then_the_block(live_server, page):
    with live_server.app.app_context():
        make_user("nurse@example.com", role="staff", password=PASSWORD)
        contact = make_contact(first_name="Robin", last_name="Hale")
        contact_id = str(contact.id)

    page.set_default_timeout(5000)
    sign_in(page, live_server, "nurse@example.com", "/admin/compose/")
    panel = page.locator("#compose-panel")
    toggle = page.get_by_label("Send securely")
    switch = page.locator("label[for=secure]")
    sms_alert = page.locator("[data-sms-alert]")
    send_button = page.get_by_role("button", name="Send message")

    # The contact list is searchable (select2): open it, type part of the name, pick the match.
    page.locator("#s2id_contact_id").click()
    page.keyboard.type("Robin Ha")
    page.keyboard.press("Enter")
    expect(page.locator("#contact_id")).to_have_value(contact_id)
    page.get_by_label("Template").select_option(label="Lab results (secure)")
    expect(panel).to_contain_text("secure — set by template 'Lab results'")
    expect(panel).to_contain_text("you have a new secure message. Open:")
    expect(toggle).to_be_checked()
    expect(sms_alert).to_be_hidden()

    switch.click()  # a custom switch: people click its label, the input itself is drawn over
    expect(toggle).not_to_be_checked()
    expect(sms_alert).to_be_visible()
    expect(sms_alert).to_contain_text("SMS is not secure.")
    expect(panel).to_contain_text("standard — set by this message")
    expect(panel).to_contain_text("is recommended to be sent secure, but this message goes standard")
    expect(panel).to_contain_text("Hello Robin, your lab results are ready.")
    expect(send_button).to_be_enabled()

    with live_server.app.app_context():
        change_setting(SYSTEM, "enforce_recommendations", "block")
        db.session.commit()
    page.get_by_label("Message").fill("Your results are normal.")
    expect(panel).to_contain_text("Refused by policy: this message cannot be sent.")
    expect(send_button).to_be_disabled()
    expect(toggle).not_to_be_checked()  # the one-off choice survives each refresh

    # Switching secure back on lifts the refusal at once.
    switch.click()
    expect(toggle).to_be_checked()
    expect(panel).not_to_contain_text("Refused by policy")
    expect(send_button).to_be_enabled()
    expect(sms_alert).to_be_hidden()

    with live_server.app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Message)).scalar_one() == 0
        assert db.session.execute(db.select(db.func.count()).select_from(Delivery)).scalar_one() == 0


def test_the_not_secure_alert_follows_the_channel(live_server, page):
    with live_server.app.app_context():
        make_user("clerk@example.com", role="staff", password=PASSWORD)
        contact_id = make_contact(first_name="Sol", last_name="Reyes").id

    page.set_default_timeout(5000)
    sign_in(page, live_server, "clerk@example.com", f"/admin/compose/?contact_id={contact_id}")
    panel = page.locator("#compose-panel")
    sms_alert = page.locator("[data-sms-alert]")
    page.get_by_label("Message").fill("See you Tuesday at ten.")
    page.locator("label[for=secure]").click()
    expect(sms_alert).to_be_visible()
    expect(sms_alert).to_contain_text("SMS is not secure.")

    page.locator("label[for=channel-voice]").click()
    expect(sms_alert).to_be_visible()
    expect(sms_alert.locator("[data-alert-channel=voice]")).to_be_visible()
    expect(sms_alert.locator("[data-alert-channel=sms]")).to_be_hidden()
    expect(panel).to_contain_text("What Sol will receive by Voice")
    expect(panel).to_contain_text("See you Tuesday at ten.")

    page.locator("label[for=channel-email]").click()
    expect(sms_alert).to_be_hidden()
