"""Browser: staff build a segment in Chromium — rows added in place, a group, the count following every edit."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from messaging.db import db
from messaging.models import Segment
from seeds.factories import make_contact, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser


def test_building_a_segment_with_a_live_count(live_server, page):
    with live_server.app.app_context():
        make_user("clerk@example.com", role="staff", password=PASSWORD)
        ada = make_contact(first_name="Ada", last_name="Diab", tags=["diabetic"], form_data={"visits": "7"})
        make_contact(first_name="Bo", last_name="Diab", tags=["diabetic"], form_data={"visits": 2})
        make_contact(first_name="Cy", last_name="Vip", tags=["vip"], form_data={"visits": 9})
        ada_id = ada.id
    page.set_default_timeout(5000)
    sign_in_page(page, live_server.url, "clerk@example.com", next_path="/admin/segments/new")
    page.wait_for_url(f"{live_server.url}/admin/segments/new")
    count = page.locator("#segment-count")

    page.fill("input[name=name]", "Diabetic, frequent")
    page.fill("input[name=conditions-0-tag]", "Diabetic")
    expect(count).to_have_attribute("data-count", "2")
    expect(page.locator("input[name=conditions-0-field]")).to_be_hidden()  # a tag row shows the tag input only

    page.click("[data-add-condition]")
    page.select_option("select[name=conditions-1-kind]", "field")
    expect(page.locator("input[name=conditions-1-tag]")).to_be_hidden()
    page.fill("input[name=conditions-1-field]", "visits")
    page.select_option("select[name=conditions-1-op]", "gt")
    page.fill("input[name=conditions-1-value]", "five")
    expect(page.locator("[data-row-error='conditions-1']")).to_contain_text("must be a number")
    expect(count).to_have_attribute("data-count", "")
    page.fill("input[name=conditions-1-value]", "5")
    expect(count).to_have_attribute("data-count", "1")
    expect(page.locator("[data-row-error='conditions-1']")).to_be_hidden()
    expect(page.locator("#segment-sample a")).to_have_attribute("href", f"/admin/contacts/details/?id={ada_id}")
    expect(page.locator("#segment-sample")).to_contain_text("Ada Diab")

    page.click("[data-add-group]")
    page.select_option("select[name=conditions-2-match]", "any")
    page.select_option("select[name=conditions-2-conditions-0-kind]", "opted_out")
    page.select_option("select[name=conditions-2-conditions-0-opted_out]", "no")
    page.click("[data-add-to='conditions-2']")
    page.select_option("select[name=conditions-2-conditions-1-kind]", "lacks_tag")
    page.fill("input[name=conditions-2-conditions-1-tag]", "vip")
    page.select_option("select[name=conditions-2-conditions-1-kind]", "contact")
    page.select_option("select[name=conditions-2-conditions-1-column]", "created_at")
    expect(page.locator("select[name=conditions-2-conditions-1-op] option[value=contains]")).to_be_disabled()
    page.select_option("select[name=conditions-2-conditions-1-op]", "exists")
    expect(page.locator("input[name=conditions-2-conditions-1-value]")).to_be_hidden()
    expect(count).to_have_attribute("data-count", "1")
    page.click("[data-remove='conditions-2-conditions-1']")
    expect(page.locator("[data-condition='conditions-2-conditions-1']")).to_have_count(0)
    page.keyboard.press("Enter")  # Enter only counts; it never presses a Remove button
    expect(page.locator("[data-condition='conditions-0']")).to_have_count(1)

    page.click("[data-save]")
    page.wait_for_url(f"{live_server.url}/admin/segments/")
    expect(page.locator("body")).to_contain_text("Segment 'Diabetic, frequent' saved: 1 contact match now.")
    with live_server.app.app_context():
        segment = db.session.execute(db.select(Segment)).scalar_one()
        assert segment.rule == {"match": "all", "conditions": [
            {"tag": "Diabetic"}, {"field": "visits", "op": "gt", "value": "5"},
            {"match": "any", "conditions": [{"opted_out": False}]}]}
