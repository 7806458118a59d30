"""In a real browser on a phone: a date-of-birth message locked by wrong dates, opened with the fallback
code chosen from the locked page; and a withdrawn link's "ask for a new link"."""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, link_for, revoke_message, send_message
from messaging.models import Contact, Message
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.axe import axe_fixture, describe  # noqa: F401  (axe_fixture: the `axe` fixture)

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
BODY = "Your bloods are back and all normal."


def _send(app, **settings) -> tuple[str, int, str, str]:
    with app.app_context():
        for key, value in {"pin_method": "date_of_birth", **settings}.items():
            change_setting(SYSTEM, key, value)
        db.session.commit()
        contact = make_contact(first_name="Ada", date_of_birth=date(1975, 6, 9).isoformat())
        message = send_message(MessageRequest(contact=contact, channel="sms", body=BODY, subject="Blood test",
                                              secure=True, require_pin=True), SYSTEM)
        db.session.commit()
        dispatch_once()
        return link_for(message), message.id, contact.email, contact.phone


def _state(page) -> str | None:
    return page.locator("body").get_attribute("data-state")


def _enter_date(page, day: str, month: str, year: str) -> None:
    page.get_by_label("Day").fill(day)
    page.get_by_label("Month (1 to 12)").fill(month)
    page.get_by_label("Year (4 digits)").fill(year)
    page.get_by_role("button", name="Open message").click()


def test_wrong_dates_lock_and_a_fallback_code_by_the_chosen_channel_opens_it(live_server, browser, axe):
    app = live_server.app
    link, message_id, email, phone = _send(app, max_pin_attempts="2")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(link)
    assert _state(page) == "verify_dob"
    # The contact's first secure page explains itself.
    assert page.get_by_text("will never ask you for a password, a card number or a payment").is_visible()

    _enter_date(page, "1", "1", "1990")
    expect(page.locator("body[data-state=wrong_entry]")).to_be_attached()
    assert page.get_by_text("That date of birth is not right. 1 attempt left").is_visible()
    _enter_date(page, "2", "2", "1990")
    expect(page.locator("body[data-state=locked]")).to_be_attached()
    assert page.get_by_text("This message is locked").is_visible()
    assert page.get_by_role("button", name="Ask Sealed demo clinic for a new link").is_visible()
    found = axe.check(page)
    assert found == [], describe(found)

    # No access to the e-mail inbox: the client picks the text message instead.
    page.get_by_label(re.compile("Text message to")).check()
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("We sent a 6-digit code by text message")).to_be_visible()
    with app.app_context():
        dispatch_once()
        code = re.search(r"your code is (\d{6})", read_outbox(phone)[-1]["body"]).group(1)
        assert not any("your code" in row["body"] for row in read_outbox(email))
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Open message").click()
    expect(page.get_by_text(BODY)).to_be_visible()
    assert _state(page) == "thread"
    with app.app_context():
        message = db.session.get_one(Message, message_id)
        contact = db.session.get_one(Contact, message.contact_id)
        assert message.locked_until is None and contact.pin_locked_until is None
    context.close()


def test_a_withdrawn_link_says_so_and_asks_the_office_without_javascript(live_server, browser):
    app = live_server.app
    link, message_id, _email, _phone = _send(app)
    with app.app_context():
        revoke_message(db.session.get_one(Message, message_id), SYSTEM)
        db.session.commit()
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    response = page.goto(link)
    assert response.status == 410 and _state(page) == "revoked"
    assert page.get_by_role("heading", name="This message was withdrawn").is_visible()
    page.get_by_role("button", name="Ask Sealed demo clinic for a new link").click()
    expect(page.locator("body[data-state=link_requested]")).to_be_attached()
    assert BODY not in page.content()
    with app.app_context():
        assert db.session.get_one(Message, message_id).link_requested_at is not None
    context.close()
