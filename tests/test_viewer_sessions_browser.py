"""The remembered session in Chromium on a phone: it expires when idle, "Sign out" ends it, and a message
withdrawn while the thread is open is never shown again."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, link_for, revoke_message, send_message
from messaging.models import Message
from seeds.factories import make_contact
from tests.support.axe import axe_fixture, describe  # noqa: F401  (axe_fixture: the `axe` fixture)

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
FIRST = "Your appointment moved to Thursday 10:00."
SECOND = "Your results are normal; no change to your dose."


def _two_messages(app) -> tuple[str, str, str, str]:
    """Links and public ids of two secure messages to one contact with PIN 2468."""
    with app.app_context():
        contact = make_contact(first_name="Ada", pin="2468")
        first = send_message(MessageRequest(contact=contact, channel="sms", body=FIRST, subject="Appointment",
                                            secure=True), SYSTEM)
        second = send_message(MessageRequest(contact=contact, channel="sms", body=SECOND, subject="Results",
                                             secure=True), SYSTEM)
        db.session.commit()
        return link_for(first), link_for(second), first.public_id, second.public_id


def _revoke(app, public_id: str) -> None:
    with app.app_context():
        revoke_message(db.session.execute(db.select(Message).filter_by(public_id=public_id)).scalar_one(), SYSTEM)
        db.session.commit()


def _open_with_pin(page, link: str) -> None:
    page.goto(link)
    page.get_by_label("PIN").fill("2468")
    page.get_by_role("button", name="Open message").click()
    expect(page.locator("body")).to_have_attribute("data-state", "thread")


def test_the_remembered_session_opens_other_links_at_once_then_expires_when_idle(live_server, browser, clock):
    first_link, second_link, _first_id, second_id = _two_messages(live_server.app)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(8000)
    _open_with_pin(page, first_link)
    expect(page.get_by_text(FIRST)).to_be_visible()
    expect(page.get_by_text(SECOND)).to_be_visible()  # the whole secure conversation

    page.goto(second_link)  # another of the contact's links: no PIN asked
    expect(page.locator("body")).to_have_attribute("data-state", "thread")
    expect(page.locator(f"#m-{second_id}")).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("PIN")).to_have_count(0)

    clock.ahead(minutes=16)  # viewer_session_minutes (15) without a request
    page.reload()
    expect(page.get_by_label("PIN")).to_be_visible()
    expect(page.get_by_text(SECOND)).to_have_count(0)
    context.close()


def test_sign_out_ends_the_session_and_the_link_asks_for_the_pin_again(live_server, browser):
    first_link, _second_link, _first_id, _second_id = _two_messages(live_server.app)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(8000)
    _open_with_pin(page, first_link)
    assert [c["name"] for c in context.cookies()] == ["sealed_viewer"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("body")).to_have_attribute("data-state", "signed_out")
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    expect(page.get_by_text(FIRST)).to_have_count(0)
    assert context.cookies() == []  # the cookie is gone from the browser too

    page.goto(first_link)
    expect(page.get_by_label("PIN")).to_be_visible()
    expect(page.get_by_text(FIRST)).to_have_count(0)
    context.close()


def test_a_message_revoked_while_the_thread_is_open_shows_withdrawn_and_never_its_content(live_server, browser,
                                                                                          axe):
    app = live_server.app
    first_link, _second_link, first_id, second_id = _two_messages(app)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(8000)
    _open_with_pin(page, first_link)
    expect(page.get_by_text(SECOND)).to_be_visible()

    _revoke(app, second_id)  # staff withdraw the other message while the page is open
    page.get_by_label("Your reply to Sealed demo clinic").fill("Did you withdraw something?")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent")).to_be_visible()
    withdrawn = page.locator(f"#m-{second_id}")
    expect(withdrawn).to_have_attribute("data-item-state", "withdrawn")
    expect(withdrawn).to_contain_text("Withdrawn by Sealed demo clinic")
    expect(page.get_by_text(SECOND)).to_have_count(0)
    found = axe.check(page)  # the thread with a withdrawn item, a reply and the reply form
    assert found == [], describe(found)

    _revoke(app, first_id)  # now the very message the page was opened with
    page.goto(first_link)  # the page reloaded from its link
    expect(page.get_by_text(FIRST)).to_have_count(0)
    expect(page.get_by_text(SECOND)).to_have_count(0)
    context.close()
