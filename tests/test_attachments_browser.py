"""Attachments in Chromium: staff attach a file in the composer and download it from the thread; a client with a
live session downloads it as a file (saved, not shown), and without one gets no file."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from messaging.attachments.store import add_attachment
from messaging.audit import SYSTEM
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.messages import MessageRequest, link_for, revoke_message, send_message
from messaging.models import Attachment, AuditEntry, Message
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.files import ELF, PDF
from tests.support.records import event_kinds
from viewer.session_cookie import COOKIE_NAME

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "accept_downloads": True}


def test_staff_attach_a_pdf_in_the_composer_and_download_it_from_the_thread(live_server, browser, tmp_path):
    app = live_server.app
    with app.app_context():
        make_user("nurse@example.com", role="staff", password=PASSWORD)
        contact_id = make_contact(first_name="Ada", last_name="Lovelace").id
    (tmp_path / "letter.pdf").write_bytes(PDF)
    (tmp_path / "results.pdf").write_bytes(ELF)

    page = browser.new_context(accept_downloads=True).new_page()
    sign_in_page(page, live_server.url, "nurse@example.com", next_path=f"/admin/compose/?contact_id={contact_id}")
    expect(page.get_by_label("Attachments")).to_be_visible()

    # An executable named .pdf: refused, and the page says why next to the field.
    page.get_by_label("Message").fill("Your letter is attached.")
    page.get_by_label("Attachments").set_input_files(str(tmp_path / "results.pdf"))
    if not page.get_by_label("Send securely").is_checked():
        page.get_by_label("Send securely").check(force=True)
    page.get_by_role("button", name="Send message").click()
    expect(page.locator('[data-error-for="files"]')).to_contain_text("PDF, PNG, JPEG")

    page.get_by_label("Attachments").set_input_files(str(tmp_path / "letter.pdf"))
    if not page.get_by_label("Send securely").is_checked():
        page.get_by_label("Send securely").check(force=True)
    page.get_by_role("button", name="Send message").click()
    link = page.get_by_role("link", name="letter.pdf")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "letter.pdf"
    assert Path(download.path()).read_bytes() == PDF
    with app.app_context():
        message = db.session.scalars(db.select(Message).filter_by(contact_id=contact_id)).one()
        assert message.mode == "secure"
        assert event_kinds(message).count("attachment_downloaded") == 1
        assert db.session.scalars(db.select(AuditEntry).filter_by(action="attachment.download")).one().actor \
            == "nurse@example.com"


def _client_download(page, url: str):
    """Navigating to a download starts it; the navigation itself is then aborted by the browser."""
    with page.expect_download() as info:
        try:
            page.goto(url)
        except PlaywrightError:
            pass
    return info.value


def test_a_client_with_a_live_session_saves_the_file_on_a_phone(live_server, browser, tmp_path):
    app = live_server.app
    with app.app_context():
        contact = make_contact(first_name="Ada", pin="2468")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Your results.", secure=True,
                                              require_pin=True), SYSTEM)
        attachment = add_attachment(message, "Results März.pdf", PDF)
        raw, _ = start_session(contact, message, None)
        db.session.commit()
        url = f"{link_for(message)}/a/{attachment.public_id}"
        attachment_id = attachment.id

    stranger = browser.new_context(**PHONE).new_page()
    response = stranger.goto(url)
    assert response.status == 403
    expect(stranger.get_by_role("heading", name="Please open the message again")).to_be_visible()

    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": COOKIE_NAME, "value": raw, "domain": "127.0.0.1", "path": "/m/",
                          "httpOnly": True, "sameSite": "Strict"}])
    download = _client_download(context.new_page(), url)
    assert download.suggested_filename == "Results März.pdf"
    assert Path(download.path()).read_bytes() == PDF
    with app.app_context():
        message = db.session.get(Attachment, attachment_id).message
        assert event_kinds(message).count("attachment_downloaded") == 1


def test_a_client_opens_the_thread_with_the_pin_and_downloads_until_the_message_is_withdrawn(live_server, browser):
    app = live_server.app
    with app.app_context():
        contact = make_contact(first_name="Ada", pin="2468")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Your results.", secure=True,
                                              require_pin=True), SYSTEM)
        add_attachment(message, "Results März.pdf", PDF)
        db.session.commit()
        link, message_id = link_for(message), message.id

    page = browser.new_context(**PHONE).new_page()
    page.goto(link)
    page.get_by_label("PIN").fill("2468")
    page.get_by_role("button", name="Open message").click()
    download_link = page.get_by_role("link", name="Download Results März.pdf")
    expect(download_link).to_be_visible()
    expect(page.locator("ul.attachments")).to_contain_text("PDF")
    with page.expect_download() as info:
        download_link.click()
    assert info.value.suggested_filename == "Results März.pdf"
    assert Path(info.value.path()).read_bytes() == PDF

    with app.app_context():
        withdrawn = db.session.get(Message, message_id)
        revoke_message(withdrawn, SYSTEM)
        db.session.commit()
        assert event_kinds(withdrawn).count("attachment_downloaded") == 1
    # The page is still open on the phone: the link now answers a page, not the file.
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    download_link.click()
    expect(page.locator("body")).to_have_attribute("data-state", "revoked")
    expect(page.get_by_role("heading", name="This file is no longer available")).to_be_visible()
    assert downloads == []
    with app.app_context():
        assert event_kinds(db.session.get(Message, message_id)).count("attachment_downloaded") == 1
