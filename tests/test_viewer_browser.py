"""The client's pages in a real browser on a phone-sized screen: styles load under the CSP, nothing is blocked."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, link_for, send_message
from messaging.settings import change_setting
from seeds.factories import make_contact

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    return problems


def test_client_reads_and_replies_with_a_code_on_a_phone(live_server, browser):
    app = live_server.app
    with app.app_context():
        change_setting(SYSTEM, "brand_color", "#7a1f5c")
        db.session.commit()
        contact = make_contact(first_name="Ada")  # no PIN: a one-time code by e-mail
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Your scan is clear.",
                                              subject="Scan results", secure=True, require_pin=True), SYSTEM)
        db.session.commit()
        link, email = link_for(message), contact.email

    context = browser.new_context(**PHONE)
    page = context.new_page()
    problems = _watch(page)
    page.goto(link)
    assert page.get_by_role("heading", name="A secure message from Sealed demo clinic").is_visible()
    header = page.locator("header.brand")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 92)"
    assert page.locator("main.card").evaluate("e => e.getBoundingClientRect().width") <= 390

    page.get_by_role("button", name="Send me a code").click()
    assert page.get_by_text("We sent a 6-digit code by e-mail").is_visible()
    with app.app_context():
        dispatch_once()
        code = re.search(r"your code is (\d{6})", read_outbox(email)[-1]["body"]).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Open message").click()
    # The code proved who they are: they may choose a PIN for next time, or not now.
    expect(page.get_by_role("heading", name="Choose your PIN")).to_be_visible()
    page.get_by_role("button", name="Not now, open the message").click()
    expect(page.get_by_role("heading", name="Scan results")).to_be_visible()  # waits for the next page
    assert page.get_by_text("Your scan is clear.").is_visible()

    page.get_by_label("Your reply to Sealed demo clinic").fill("Thank you!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent")).to_be_visible()  # a busy machine answers the POST late
    assert page.get_by_text("Your scan is clear.").is_visible()
    assert problems == [], problems
    # The one cookie: the remembered session (it replaced the view grant), out of reach of scripts.
    (cookie,) = context.cookies()
    assert cookie["name"] == "sealed_viewer" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/m/"
    context.close()
