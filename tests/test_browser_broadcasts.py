"""Browser: staff create a broadcast over two overlapping segments, read the audience panel and what the client
receives, send it after the confirmation that repeats the count, and watch the progress bar reach the end without
reloading — the console's own scheduler fanning it out and delivering it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Broadcast, OutboxEntry
from seeds.factories import make_contact, make_template, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser
REGULARS = 24  # VIPs with marketing consent, besides the named contacts


def _audience() -> dict[str, str | None]:
    """VIP: Ann, Eve and the regulars; Clinic: Ann again, Cy (opted out), Di (no phone). Eve has no marketing
    consent. So matched 29 = to_send 25 + duplicates 1 + opted_out 1 + no_consent 1 + unreachable 1."""
    phones = {"ann": make_contact(first_name="Ann", tags=["vip", "clinic"], marketing_consent=True).phone,
              "eve": make_contact(first_name="Eve", tags=["vip"]).phone,
              "cy": make_contact(first_name="Cy", tags=["clinic"], marketing_consent=True, sms_consent=False).phone}
    make_contact(first_name="Di", tags=["clinic"], marketing_consent=True, phone=None)
    for n in range(REGULARS):
        make_contact(first_name=f"Regular{n}", tags=["vip"], marketing_consent=True)
    create_segment(SYSTEM, "VIP", {"match": "all", "conditions": [{"tag": "vip"}]})
    create_segment(SYSTEM, "Clinic", {"match": "all", "conditions": [{"tag": "clinic"}]})
    make_template(slug="spring-offer", name="Spring offer", situation_key="marketing",
                  body="Spring offer for {{ first_name }}: 20% off")
    db.session.commit()
    return phones


def test_create_read_the_audience_send_and_watch_the_progress_reach_the_end(make_live_server, browser):
    server = make_live_server(TESTING=False, WTF_CSRF_ENABLED=True, SCHEDULER_ENABLED=True,
                              SCHEDULER_INTERVAL_SECONDS=0.2)
    with server.app.app_context():
        make_user("clerk@example.com", role="staff", password=PASSWORD)
        phones = _audience()
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    try:
        sign_in_page(page, server.url, "clerk@example.com", next_path="/admin/broadcasts/")
        page.wait_for_url(f"{server.url}/admin/broadcasts/")
        scheduler = server.app.extensions["sealed.scheduler"]  # started by the first request
        expect(page.locator("[data-empty]")).to_contain_text("No broadcasts yet")
        page.get_by_role("link", name="Create the first broadcast").click()
        page.wait_for_url(f"{server.url}/admin/broadcasts/new")

        page.get_by_label("Name").fill("Spring offer")
        expect(page.locator("[data-add-segment]")).to_be_hidden()  # with JavaScript rows appear by themselves
        page.get_by_label("Segment 1").select_option(label="VIP")
        page.get_by_label("Segment 2").select_option(label="Clinic")  # appeared once the first was chosen
        expect(page.get_by_label("Segment 3")).to_have_count(0)  # there are only two segments to choose
        page.get_by_label("Template").select_option("spring-offer")
        page.get_by_label("Secure or standard").select_option("standard")
        page.get_by_role("button", name="Save draft and review").click()
        page.wait_for_url(re.compile(r"/admin/broadcasts/\d+/$"))

        # Before anything is sent: every count, the decision with its reason, what the client receives.
        counts = {"matched": "29", "duplicates": "1", "opted_out": "1", "no_consent": "1", "unreachable": "1",
                  "frequency_capped": "0", "to_send": "25"}
        for key, value in counts.items():
            expect(page.locator(f"[data-audience='{key}']")).to_have_text(value)
        expect(page.locator("[data-decision-reason]")).to_have_text("standard — set by broadcast 'Spring offer'")
        expect(page.locator("[data-client-text]")).to_have_text("Spring offer for Ann: 20% off")
        expect(page.locator("[data-progress-card]")).to_be_hidden()

        page.get_by_role("link", name="Send…").click()
        expect(page.locator("body")).to_contain_text("to 25 contacts")
        # The workers wait while the page loads, so it is seen at the start; then they run.
        scheduler.pause()
        page.get_by_role("button", name="Send to 25 contacts").click()
        page.wait_for_url(re.compile(r"/admin/broadcasts/\d+/$"))
        bar = page.locator("[data-broadcast-progress]")
        expect(page.locator("[data-broadcast-status]")).to_have_text("Sending")
        expect(bar).to_have_attribute("aria-valuenow", "0")
        expect(page.locator("[data-progress-total]")).to_have_text("25")
        expect(page.locator("[data-pause]")).to_be_visible()
        page.evaluate("window.sealedNotReloaded = true")
        scheduler.resume()

        expect(page.locator("[data-broadcast-status]")).to_have_text("Sent", timeout=60000)
        expect(bar).to_have_attribute("aria-valuenow", "100")
        expect(page.locator("[data-progress-finished]")).to_have_text("25")
        expect(page.locator("[data-progress='queued']")).to_have_text("0")
        expect(page.locator("[data-pause]")).to_be_hidden()
        expect(page.locator("[data-cancel]")).to_be_hidden()
        assert page.evaluate("window.sealedNotReloaded === true"), "the page reloaded instead of updating in place"

        # The suppressed recipients, with their reasons, once the page is read again.
        page.reload()
        expect(page.locator("[data-suppressed]")).to_contain_text("Opted out of sms messages")
        expect(page.locator("[data-suppressed]")).to_contain_text("No marketing consent for sms")
        expect(page.locator("[data-suppressed]")).to_contain_text("No phone number for sms")
    finally:
        server.app.extensions["sealed.scheduler"].shutdown(wait=True)

    with server.app.app_context():
        assert db.session.execute(db.select(Broadcast.status)).scalar_one() == "sent"
        assert db.session.execute(db.select(db.func.count()).select_from(OutboxEntry)).scalar_one() == 25
        assert len(read_outbox(phones["ann"])) == 1  # in both segments, sent to once
        assert read_outbox(phones["eve"]) == [] and read_outbox(phones["cy"]) == []
