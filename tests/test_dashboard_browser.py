"""Browser: the dashboard under the console's Content-Security-Policy in Chromium — its charts are drawn, coloured by
our stylesheet (no inline style is needed, so none is refused), nothing is blocked or fetched from elsewhere, and
axe finds no accessibility violation in it (beyond the console frame's own)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from messaging import clock
from messaging.db import db
from seeds.factories import make_contact, make_user
from tests.support.axe import axe_fixture, describe  # noqa: F401  (axe_fixture: the `axe` fixture)
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD
from tests.support.insight import add_message

pytestmark = pytest.mark.browser
FRAME_RULES = {"html-has-lang", "landmark-one-main", "region"}


def test_the_dashboard_draws_its_charts_under_the_policy_without_a_violation(live_server, browser, axe):
    app = live_server.app
    with app.app_context():
        admin = make_user("chief@example.com", role="admin", password=PASSWORD)
        contact = make_contact(first_name="Noor")
        now = clock.utcnow()
        for day in range(1, 20):
            add_message(contact, now - timedelta(days=day), owner=admin, view_after=timedelta(minutes=day),
                        history=("sent", "delivered", "link_opened", "viewed"))
            add_message(contact, now - timedelta(days=day), mode="standard", channel="email", owner=admin,
                        history=("failed",) if day % 5 == 0 else ("sent",))
        add_message(contact, now - timedelta(days=3), owner=admin)  # unread: to follow up
        db.session.commit()

    page = browser.new_context().new_page()
    page.set_default_timeout(8000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"script error {error}"))
    page.on("requestfailed", lambda req: problems.append(f"failed {req.url} {req.failure}"))
    origins: set[str] = set()
    page.on("request", lambda req: origins.add(re.match(r"^[a-z]+://[^/]+", req.url).group(0))
            if not req.url.startswith("data:") else None)

    sign_in_page(page, live_server.url, "chief@example.com")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#chart-per-day")).to_be_visible()
    assert page.locator("#chart-per-day rect").count() == 19 * 2
    # Our stylesheet colours the bars: the CSS reached the inline SVG without any inline style.
    fill = page.locator("#chart-per-day rect").first.evaluate("el => getComputedStyle(el).fill")
    assert fill in ("rgb(31, 111, 235)", "rgb(45, 164, 78)"), fill
    for chart in ("#chart-funnel", "#chart-failures"):
        expect(page.locator(chart)).to_be_visible()
    expect(page.locator("[data-follow-up]")).to_have_count(1)
    assert problems == [], problems
    assert origins == {live_server.url}, origins
    # The console's frame (Flask-Admin's base: no lang, no main landmark) is every page's, not the dashboard's.
    found = [v for v in axe.check(page) if v["id"] not in FRAME_RULES]
    assert not found, describe(found)
