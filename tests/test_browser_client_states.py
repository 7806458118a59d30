"""Every page a client can meet, on a phone, in English and Spanish: the right state, the right language,
no axe-core violation, under 50 KB with what it loads, nothing from another origin, and (for the
verify and thread flows) the same without JavaScript.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import link_for, revoke_message
from messaging.models import Message
from messaging.settings import change_setting, get_settings
from seeds.factories import make_contact
from tests.support.axe import axe_fixture  # noqa: F401  (axe_fixture: the `axe` fixture)
from tests.support.client_pages import check_page, latest_code, new_visit
from tests.support.messages import send

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "es"]
PIN, DOB = "2468", ("31", "1", "1980")
# A ".pdf" that is a Windows executable: refused by content, whatever its name says.
NOT_A_PDF = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240


# --- test data: one client and one secure message, made through the core as staff would ---

@dataclass
class Sent:
    link: str
    message_id: int
    email: str

    @property
    def path(self) -> str:
        return urlsplit(self.link).path


def sent_message(app, language: str, method: str | None, **settings) -> Sent:
    """A secure message to a new client speaking ``language``, opened by ``method`` (None: a button;
    ``client_pin``: PIN-protected, to a client without a PIN yet)."""
    with app.app_context():
        for key, value in settings.items():
            change_setting(SYSTEM, key, value)
        if method in ("date_of_birth", "one_time_code"):
            change_setting(SYSTEM, "pin_method", method)
        db.session.commit()
        fields = {"language": language}
        if method == "contact_pin":
            fields["pin"] = PIN
        if method == "date_of_birth":
            fields["date_of_birth"] = f"{DOB[2]}-{int(DOB[1]):02d}-{int(DOB[0]):02d}"
        contact = make_contact(first_name="Ada", **fields)
        message = send(contact, body="Your results are ready.", subject="Results", secure=True,
                       require_pin=method is not None)
        return Sent(link_for(message), message.id, contact.email)


def open_form(sent: Sent) -> str:
    return f"form[action='{sent.path}']"


def fill_dob(page, day: str, month: str, year: str) -> None:
    for name, value in (("dob_day", day), ("dob_month", month), ("dob_year", year)):
        field_ = page.locator(f"[name={name}]")
        if _is_select(field_):
            values = [o.get_attribute("value") for o in field_.locator("option").all()]
            field_.select_option(next(v for v in values if v and v.isdigit() and int(v) == int(value)))
        else:
            field_.fill(value)


def _is_select(locator) -> bool:
    # Without JavaScript in the page, ask the DOM through a selector rather than evaluate().
    return locator.locator("xpath=self::select").count() == 1


# --- how a client reaches each state ---

def reach_landing_open(visit, app, language, clock=None):
    sent = sent_message(app, language, None)
    visit.goto(sent.link)
    return sent, 200


def reach_verify_pin(visit, app, language, clock=None):
    sent = sent_message(app, language, "contact_pin")
    visit.goto(sent.link)
    return sent, 200


def reach_verify_code(visit, app, language, clock=None):
    sent = sent_message(app, language, "one_time_code")
    visit.goto(sent.link)
    return sent, 200


def reach_verify_code_sent(visit, app, language, clock=None):
    sent, _ = reach_verify_code(visit, app, language)
    visit.submit("form[action$='/code']")
    return sent, 200


def reach_verify_dob(visit, app, language, clock=None):
    sent = sent_message(app, language, "date_of_birth")
    visit.goto(sent.link)
    return sent, 200


def reach_wrong_entry(visit, app, language, clock=None):
    sent, _ = reach_verify_pin(visit, app, language)
    visit.page.locator("[name=pin]").fill("0000")
    visit.submit(open_form(sent))
    return sent, 403


def reach_locked(visit, app, language, clock=None):
    sent = sent_message(app, language, "contact_pin", max_pin_attempts=2)
    visit.goto(sent.link)
    for _ in range(2):
        visit.page.locator("[name=pin]").fill("0000")
        visit.submit(open_form(sent))
    return sent, 423


def reach_expired(visit, app, language, clock=None):
    sent = sent_message(app, language, "contact_pin")
    with app.app_context():
        message = db.session.get_one(Message, sent.message_id)
        message.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    visit.goto(sent.link)
    return sent, 410


def reach_revoked(visit, app, language, clock=None):
    sent = sent_message(app, language, "contact_pin")
    with app.app_context():
        revoke_message(db.session.get_one(Message, sent.message_id), SYSTEM)
        db.session.commit()
    visit.goto(sent.link)  # the link the client already has
    return sent, 410


def reach_thread(visit, app, language, clock=None):
    sent, _ = reach_verify_pin(visit, app, language)
    visit.page.locator("[name=pin]").fill(PIN)
    visit.submit(open_form(sent))
    return sent, 200


def reach_signed_out(visit, app, language, clock=None):
    sent, _ = reach_thread(visit, app, language)
    visit.submit("form[action$='/signout']")
    return sent, 200


def reach_attachment_refused(visit, app, language, clock=None):
    sent = sent_message(app, language, None, client_attachments=True)
    visit.goto(sent.link)
    visit.submit(open_form(sent))
    reply = "form[action$='/reply']"
    visit.page.locator(f"{reply} [name=body]").fill("Here is the form.")
    visit.page.locator(f"{reply} [name=files]").set_input_files(
        files=[{"name": "form.pdf", "mimeType": "application/pdf", "buffer": NOT_A_PDF}])
    visit.submit(reply)
    return sent, 415


def reach_not_found(visit, app, language, clock=None):
    sent = sent_message(app, language, "contact_pin")
    token = sent.link.rsplit("/", 1)[1]
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    visit.goto(sent.link.rsplit("/", 1)[0] + "/" + tampered)
    return sent, 404


def reach_link_requested(visit, app, language, clock=None):
    sent, _ = reach_expired(visit, app, language)
    visit.submit("form[action$='/ask']")
    return sent, 200


def reach_replaced(visit, app, language, clock=None):
    from messaging.client.lifetime import reissue_message  # H4's re-issue (issue 11)

    sent = sent_message(app, language, "contact_pin")
    with app.app_context():
        reissue_message(db.session.get_one(Message, sent.message_id), SYSTEM)
        db.session.commit()
    visit.goto(sent.link)  # the old link, superseded by the new one
    return sent, 410


def reach_session_ended(visit, app, language, clock=None):
    sent, _ = reach_thread(visit, app, language)
    clock.ahead(minutes=16)  # past the default 15 idle minutes
    reply = "form[action$='/reply']"
    visit.page.locator(f"{reply} [name=body]").fill("Still there?")
    visit.submit(reply)
    return sent, 403


def reach_choose_pin(visit, app, language, clock=None):
    sent = sent_message(app, language, "client_pin")  # no PIN yet: a code, then the client chooses one
    visit.goto(sent.link)
    visit.submit("form[action$='/code']")
    visit.page.locator("[name=code]").fill(latest_code(app, sent.email))
    visit.submit(open_form(sent))
    return sent, 200


def reach_choose_pin_refused(visit, app, language, clock=None):
    sent, _ = reach_choose_pin(visit, app, language)
    for name in ("pin", "pin_confirm"):
        visit.page.locator(f"[name={name}]").fill("1234")
    visit.submit("form[action$='/pin']")
    return sent, 422


def reach_too_many(visit, app, language, clock=None):
    app.config["VIEWER_POST_LIMIT"] = "2 per minute"  # read per request: the third POST is one too many
    sent, _ = reach_verify_pin(visit, app, language)
    for _ in range(3):
        visit.page.locator("[name=pin]").fill("0000")
        visit.submit(open_form(sent))
    return sent, 429


STATES = {
    "landing_open": reach_landing_open,
    "verify_pin": reach_verify_pin,
    "verify_code": reach_verify_code,
    "verify_code (code sent)": reach_verify_code_sent,
    "verify_dob": reach_verify_dob,
    "wrong_entry": reach_wrong_entry,
    "locked": reach_locked,
    "expired": reach_expired,
    "revoked": reach_revoked,
    "signed_out": reach_signed_out,
    "thread": reach_thread,
    "attachment_refused": reach_attachment_refused,
    "not_found": reach_not_found,
    "link_requested": reach_link_requested,
    "replaced": reach_replaced,
    "session_ended": reach_session_ended,
    "too_many": reach_too_many,
    "choose_pin": reach_choose_pin,
    "choose_pin (refused)": reach_choose_pin_refused,
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", list(STATES))
def test_every_client_page_on_a_phone(live_server, browser, axe, clock, name, language):
    visit = new_visit(browser, live_server)
    _sent, status = STATES[name](visit, live_server.app, language, clock)
    # The page's language follows the contact's, except the neutral 404, which belongs to no message.
    expected_language = "en" if name == "not_found" else language
    check_page(visit, axe, name.split(" ")[0], expected_language, status)
    visit.page.context.close()


# --- the same flows with JavaScript turned off ---

@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("method", ["contact_pin", "one_time_code", "date_of_birth"])
def test_verify_read_reply_and_sign_out_without_javascript(live_server, browser, axe, method, language):
    app = live_server.app
    visit = new_visit(browser, live_server, javascript=False)
    sent = sent_message(app, language, method)
    visit.goto(sent.link)
    state = {"contact_pin": "verify_pin", "one_time_code": "verify_code", "date_of_birth": "verify_dob"}[method]
    check_page(visit, axe, state, language, 200)

    if method == "contact_pin":
        visit.page.locator("[name=pin]").fill(PIN)
    elif method == "date_of_birth":
        fill_dob(visit.page, *DOB)
    else:
        visit.submit("form[action$='/code']")
        check_page(visit, axe, "verify_code", language, 200)
        visit.page.locator("[name=code]").fill(latest_code(app, sent.email))
    visit.submit(open_form(sent))
    check_page(visit, axe, "thread", language, 200)
    assert visit.page.get_by_text("Your results are ready.").is_visible()

    reply = "form[action$='/reply']"
    visit.page.locator(f"{reply} [name=body]").fill("Thank you!")
    visit.submit(reply)
    check_page(visit, axe, "thread", language, 200)
    assert visit.page.get_by_text("Thank you!").first.is_visible()

    visit.submit("form[action$='/signout']")
    check_page(visit, axe, "signed_out", language, 200)
    visit.goto(sent.link)  # signed out: the link asks again
    check_page(visit, axe, state, language, 200)
    visit.page.context.close()


# --- Spanish pages say it in Spanish ---

ROOT = Path(__file__).resolve().parents[1]
SPANISH_CATALOG = ROOT / "translations" / "es" / "LC_MESSAGES" / "messages.mo"
CONTENT = {"Your results are ready.", "Results"}  # the message itself is the sender's, not translated


def _sentences(page, org_name: str) -> set[str]:
    lines = {" ".join(line.split()) for line in page.locator("body").inner_text().splitlines()}
    return {line for line in lines if len(line.split()) >= 3 and line not in CONTENT | {org_name}}


@pytest.mark.parametrize("name", STATES)
def test_spanish_pages_share_no_sentence_with_english_ones(live_server, browser, clock, name):
    if name == "not_found":
        pytest.skip("the neutral 404 belongs to no message, so it has no client language")
    if not SPANISH_CATALOG.exists():
        pytest.skip(f"{SPANISH_CATALOG.relative_to(ROOT)} is missing: `make setup` compiles the Spanish catalog")
    with live_server.app.app_context():
        org_name = get_settings().org_name
    seen = {}
    for language in LANGUAGES:
        visit = new_visit(browser, live_server)
        STATES[name](visit, live_server.app, language, clock)
        seen[language] = _sentences(visit.page, org_name)
        visit.page.context.close()
    left_in_english = sorted(seen["en"] & seen["es"])
    assert left_in_english == [], f"{name}: the Spanish page still says {left_in_english}"
