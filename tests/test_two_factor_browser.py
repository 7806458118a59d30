"""Browser (Chromium): two-factor sign-in as a person goes through it. Enrolment from the account page with the
QR code and the key as text (an authenticator app, pyotp, reads the key), sign-out, sign-in with password and
code; a recovery code that works once; the ``admins`` setting sending an admin to enrol before /admin/; and
the code page's structure checked by axe."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from seeds.factories import make_user
from tests.support.accounts import code_now, enrol, require_two_factor
from tests.support.axe import axe_fixture, describe  # noqa: F401  (axe_fixture: the `axe` fixture)
from tests.support.browser import sign_in_page

pytestmark = pytest.mark.browser
CODE_LABEL = "Code from your authenticator app, or a recovery code"


def _watch(page) -> list[str]:
    """CSP refusals and script errors, which arrive as console errors (a refused code's 401 is no problem)."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and "status of 401" not in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: script error {error}"))
    return problems


def _enrol_on_the_page(page) -> list[str]:
    """On the set-up page: read the key as the app would, type its code, keep the recovery codes shown."""
    expect(page.locator("#qr-code svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.get_by_label("Code from the app").fill(code_now(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    codes = [c.strip() for c in page.locator("[data-recovery-code]").all_inner_texts()]
    assert len(codes) == 10
    return [secret, *codes]


def test_enrol_sign_out_and_sign_in_with_a_totp_code(live_server, page):
    with live_server.app.app_context():
        make_user("nurse@example.com", role="staff")
    problems = _watch(page)
    page.set_default_timeout(8000)
    base = live_server.url
    sign_in_page(page, base, "nurse@example.com")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto(f"{base}/admin/account/")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    secret, *_codes = _enrol_on_the_page(page)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("Two-factor sign-in is on")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    sign_in_page(page, base, "nurse@example.com", next_path="/admin/compose/")
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.goto(f"{base}/admin/")  # no console page before the code
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in_page(page, base, "nurse@example.com", next_path="/admin/compose/")
    # The code of the next step: the one the enrolment used may not be used twice.
    page.get_by_label(CODE_LABEL).fill(code_now(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/compose/$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert problems == []


def test_a_recovery_code_signs_in_once(live_server, page):
    app = live_server.app
    with app.app_context():
        make_user("clerk@example.com", role="staff")
    _secret, codes = enrol(app, "clerk@example.com")
    problems = _watch(page)
    page.set_default_timeout(8000)
    base = live_server.url
    sign_in_page(page, base, "clerk@example.com")
    page.get_by_label(CODE_LABEL).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_text("You signed in with a recovery code; it cannot be used again. 9 left")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in_page(page, base, "clerk@example.com")
    page.get_by_label(CODE_LABEL).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert problems == []


def test_the_admins_setting_makes_an_admin_enrol_before_reaching_the_console(live_server, page):
    app = live_server.app
    with app.app_context():
        make_user("boss@example.com", role="admin")
    require_two_factor(app, "admins")
    problems = _watch(page)
    page.set_default_timeout(8000)
    base = live_server.url
    sign_in_page(page, base, "boss@example.com")
    expect(page).to_have_url(re.compile(r"/admin/account/two-factor/$"))
    expect(page.get_by_text("Your organisation requires two-factor sign-in for your account.")).to_be_visible()
    page.goto(f"{base}/admin/contacts/")
    expect(page).to_have_url(re.compile(r"/admin/account/two-factor/$"))
    _enrol_on_the_page(page)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("cannot be turned off")).to_be_visible()
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    assert problems == []


def _structure_problems(axe, page) -> list[dict]:
    # Colour contrast is the console theme's (Bootstrap's default primary and muted text, on every
    # console page and the login page alike), not these pages'; the rest must hold here.
    return [v for v in axe.check(page) if v["id"] != "color-contrast"]


def test_the_code_page_passes_axe(live_server, page, axe):
    app = live_server.app
    with app.app_context():
        make_user("two@example.com", role="staff")
    enrol(app, "two@example.com")
    page.set_default_timeout(8000)
    sign_in_page(page, live_server.url, "two@example.com")
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label(CODE_LABEL).fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    assert (found := _structure_problems(axe, page)) == [], describe(found)
