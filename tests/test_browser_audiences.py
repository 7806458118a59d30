"""Browser: staff import a contact list, watch the progress bar reach the end without reloading, then build a
two-condition segment over what they imported and see its live count — the console's scheduler doing the import."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.db import db
from messaging.models import Contact, ContactImport
from seeds.factories import make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD

pytestmark = pytest.mark.browser
ROWS = 1500
BAD_LINES = (7, 900)  # file lines (the header is line 1) whose phone is not a number


def _csv(path):
    lines = ["first_name,last_name,phone,email,tags,visits"]
    expected = 0
    for i in range(ROWS):
        line = i + 2
        phone = "not-a-phone" if line in BAD_LINES else f"+1415556{i:04d}"
        tags = "Diabetic;vip" if i % 3 == 0 else "vip"
        visits = i % 10
        if line not in BAD_LINES and i % 3 == 0 and visits > 5:
            expected += 1
        lines.append(f"Pat{i},Imported,{phone},pat{i}@example.com,{tags},{visits}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


def test_import_watch_the_progress_then_segment_what_came_in(make_live_server, browser, tmp_path):
    server = make_live_server(TESTING=False, WTF_CSRF_ENABLED=True, SCHEDULER_ENABLED=True,
                              SCHEDULER_INTERVAL_SECONDS=0.2)
    expected = _csv(tmp_path / "clients.csv")
    with server.app.app_context():
        make_user("clerk@example.com", role="staff", password=PASSWORD)
    page = browser.new_context().new_page()
    page.set_default_timeout(10000)
    try:
        sign_in_page(page, server.url, "clerk@example.com", next_path="/admin/imports/")
        page.wait_for_url(f"{server.url}/admin/imports/")
        page.set_input_files("#import-file", str(tmp_path / "clients.csv"))
        page.fill("#import-extra-tags", "spring-import")
        page.get_by_role("button", name="Upload and preview").click()
        page.wait_for_url(re.compile(r"/admin/imports/preview/\?id=\d+"))

        # The detected mapping, one select per column, the other columns a form field.
        expect(page.locator("select[data-import-column='phone']")).to_have_value("phone")
        expect(page.locator("select[data-import-column='tags']")).to_have_value("tags")
        expect(page.locator("select[data-import-column='visits']")).to_have_value(re.compile(r"^form:visits$"))
        expect(page.locator("body")).to_contain_text("Pat0")
        page.click("[data-import-start]")
        page.wait_for_url(re.compile(r"/admin/imports/progress/\?id=\d+"))

        page.evaluate("window.sealedNotReloaded = true")
        bar = page.locator("[data-import-progress]")
        expect(page.locator("[data-import-status]")).to_have_text("done", timeout=60000)
        expect(bar).to_have_attribute("aria-valuenow", "100")
        expect(page.locator("[data-import-created]")).to_have_text(str(ROWS - len(BAD_LINES)))
        expect(page.locator("[data-import-rejected]")).to_have_text(str(len(BAD_LINES)))
        expect(page.locator("[data-import-rejects-link]")).to_be_visible()
        assert page.evaluate("window.sealedNotReloaded === true"), "the page reloaded instead of updating in place"

        page.goto(f"{server.url}/admin/segments/new")
        count = page.locator("#segment-count")
        page.fill("input[name=name]", "Diabetic, many visits")
        page.fill("input[name=conditions-0-tag]", "diabetic")
        expect(count).to_have_attribute("data-count", str(ROWS // 3 - sum(1 for n in BAD_LINES if (n - 2) % 3 == 0)))
        page.click("[data-add-condition]")
        page.select_option("select[name=conditions-1-kind]", "field")
        page.fill("input[name=conditions-1-field]", "visits")
        page.select_option("select[name=conditions-1-op]", "gt")
        page.fill("input[name=conditions-1-value]", "5")
        expect(count).to_have_attribute("data-count", str(expected))
        expect(page.locator("#segment-sample a").first).to_contain_text("Imported")
        page.click("[data-save]")
        page.wait_for_url(f"{server.url}/admin/segments/")
        expect(page.locator("body")).to_contain_text("Diabetic, many visits")
    finally:
        server.app.extensions["sealed.scheduler"].shutdown(wait=True)

    with server.app.app_context():
        done = db.session.execute(db.select(ContactImport)).scalar_one()
        assert (done.status, done.created, done.rejected) == ("done", ROWS - len(BAD_LINES), len(BAD_LINES))
        tagged = db.session.execute(db.select(Contact).filter_by(last_name="Imported").limit(1)).scalar_one()
        assert "spring-import" in tagged.tags
