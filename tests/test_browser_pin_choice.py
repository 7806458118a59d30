"""Clients choose their own PIN, in Chromium on a phone, in English and Spanish, every page checked
with axe-core: the first message (code, then a PIN, then the content), the next message opening
with that PIN, "Forgot your PIN?", weak PINs refused with a clear message, the first-time
explanation shown once, and the setting that leaves PINs to staff."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import link_for
from messaging.models import Contact
from messaging.security.pins import check_pin
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.axe import axe_fixture  # noqa: F401  (axe_fixture: the `axe` fixture)
from tests.support.client_pages import check_page, latest_code, new_visit
from tests.support.messages import send

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "es"]
CHOSEN = "5831"
SAYS = {
    "en": {"saved": "Your PIN is saved", "new_pin": "Choose a new PIN", "first_pin": "Choose your PIN",
           "repeated": "not one digit repeated", "sequence": "not a run of digits",
           "birth_year": "not the year you were born", "differ": "The two PINs are not the same.",
           "attempts": "That PIN is not right. 4 attempts left", "intro": "will never ask you for a password"},
    "es": {"saved": "Su PIN está guardado", "new_pin": "Elija un PIN nuevo", "first_pin": "Elija su PIN",
           "repeated": "no sea una sola cifra repetida", "sequence": "no sea una serie de cifras",
           "birth_year": "no sea el año en que nació", "differ": "Los dos PIN no coinciden.",
           "attempts": "Ese PIN no es correcto. Le quedan 4 intentos", "intro": "nunca le pedirá una contraseña"},
}


@dataclass
class Sent:
    link: str
    path: str
    contact_id: int
    email: str
    body: str


def _send(app, contact_id: int | None = None, language: str = "en", body: str = "Your results are ready.",
          **contact_fields) -> Sent:
    """A PIN-protected secure message, to a new contact or to ``contact_id``."""
    with app.app_context():
        contact = (db.session.get_one(Contact, contact_id) if contact_id
                   else make_contact(first_name="Ada", language=language, **contact_fields))
        message = send(contact, body=body, subject="Results", secure=True, require_pin=True)
        link = link_for(message)
        return Sent(link, urlsplit(link).path, contact.id, contact.email, body)


def _stored(app, contact_id: int) -> Contact:
    with app.app_context():
        contact = db.session.get_one(Contact, contact_id)
        db.session.expunge(contact)
        return contact


def _open_with_code(visit, app, sent: Sent) -> None:
    visit.submit("form[action$='/code']")
    visit.page.locator("[name=code]").fill(latest_code(app, sent.email))
    visit.submit(f"form[action='{sent.path}']")


def _choose(visit, pin: str, again: str | None = None) -> None:
    visit.page.locator("[name=pin]").fill(pin)
    visit.page.locator("[name=pin_confirm]").fill(again or pin)
    visit.submit("form[action$='/pin']")


def _has_introduction(visit) -> bool:
    return visit.page.locator("[data-introduction]").count() == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_message_code_then_choose_a_pin_then_the_content_and_the_next_message_opens_with_it(
        live_server, browser, axe, language):
    app, says = live_server.app, SAYS[language]
    first = _send(app, language=language)

    # A link scanner (or a second look before acting) does not use the explanation up.
    scanner = new_visit(browser, live_server)
    scanner.goto(first.link)
    assert _has_introduction(scanner)
    scanner.page.context.close()

    visit = new_visit(browser, live_server)
    visit.goto(first.link)
    check_page(visit, axe, "verify_code", language, 200)
    assert _has_introduction(visit) and visit.page.get_by_text(says["intro"]).is_visible()
    _open_with_code(visit, app, first)
    check_page(visit, axe, "choose_pin", language, 200)
    assert visit.page.get_by_role("heading", name=says["first_pin"]).is_visible()
    assert visit.page.get_by_text(first.body).count() == 0  # the content comes after the choice

    _choose(visit, CHOSEN)
    check_page(visit, axe, "thread", language, 200)
    assert visit.page.get_by_text(first.body).is_visible()
    assert visit.page.get_by_role("status").filter(has_text=says["saved"]).is_visible()
    stored = _stored(app, first.contact_id)
    assert stored.pin_set_by == "client" and check_pin(stored.pin_hash, CHOSEN)
    visit.page.context.close()

    # The next message, on another device: the PIN the client chose; no explanation any more.
    second = _send(app, first.contact_id, body="Your second letter is here.")
    other = new_visit(browser, live_server)
    other.goto(second.link)
    check_page(other, axe, "verify_pin", language, 200)
    assert not _has_introduction(other)
    other.page.locator("[name=pin]").fill("9041")
    other.submit(f"form[action='{second.path}']")
    check_page(other, axe, "wrong_entry", language, 403)  # wrong PINs count as before
    assert other.page.get_by_text(says["attempts"]).is_visible()
    other.page.locator("[name=pin]").fill(CHOSEN)
    other.submit(f"form[action='{second.path}']")
    check_page(other, axe, "thread", language, 200)
    assert other.page.get_by_text(second.body).is_visible()
    other.page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_forgot_pin_a_code_then_a_new_pin_replaces_the_staff_one(live_server, browser, axe, language):
    app, says = live_server.app, SAYS[language]
    sent = _send(app, language=language, pin="2468")
    visit = new_visit(browser, live_server)
    visit.goto(sent.link)
    check_page(visit, axe, "verify_pin", language, 200)
    visit.page.locator("details.fallback summary").click()  # "Forgot your PIN?"
    _open_with_code(visit, app, sent)
    check_page(visit, axe, "choose_pin", language, 200)
    assert visit.page.get_by_role("heading", name=says["new_pin"]).is_visible()
    _choose(visit, CHOSEN)
    check_page(visit, axe, "thread", language, 200)
    visit.page.context.close()

    again = new_visit(browser, live_server)
    again.goto(sent.link)
    again.page.locator("[name=pin]").fill("2468")  # the PIN staff had set no longer opens it
    again.submit(f"form[action='{sent.path}']")
    check_page(again, axe, "wrong_entry", language, 403)
    again.page.locator("[name=pin]").fill(CHOSEN)
    again.submit(f"form[action='{sent.path}']")
    check_page(again, axe, "thread", language, 200)
    stored = _stored(app, sent.contact_id)
    assert stored.pin_set_by == "client" and not check_pin(stored.pin_hash, "2468")
    again.page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_weak_and_mistyped_pins_are_refused_with_a_clear_message(live_server, browser, axe, language):
    app, says = live_server.app, SAYS[language]
    sent = _send(app, language=language, date_of_birth="1984-06-02")
    visit = new_visit(browser, live_server)
    visit.goto(sent.link)
    _open_with_code(visit, app, sent)
    for pin, again, reason in (("0000", None, "repeated"), ("4321", None, "sequence"), ("1984", None, "birth_year"),
                               (CHOSEN, "5830", "differ")):
        _choose(visit, pin, again)
        check_page(visit, axe, "choose_pin", language, 422)
        error = visit.page.get_by_role("alert")
        assert says[reason] in error.inner_text(), (pin, error.inner_text())
        assert _stored(app, sent.contact_id).pin_hash is None
    _choose(visit, CHOSEN)
    check_page(visit, axe, "thread", language, 200)
    visit.page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_not_now_without_javascript_opens_the_message_and_the_next_one_asks_again(
        live_server, browser, axe, language):
    app = live_server.app
    first = _send(app, language=language)
    visit = new_visit(browser, live_server, javascript=False)
    visit.goto(first.link)
    _open_with_code(visit, app, first)
    check_page(visit, axe, "choose_pin", language, 200)
    visit.submit("form[action$='/pin']:has(button[value=skip])")
    check_page(visit, axe, "thread", language, 200)
    assert visit.page.get_by_text(first.body).is_visible()
    visit.page.context.close()

    second = _send(app, first.contact_id, body="Another one.")
    other = new_visit(browser, live_server, javascript=False)
    other.goto(second.link)
    _open_with_code(other, app, second)
    check_page(other, axe, "choose_pin", language, 200)
    other.page.context.close()


def test_with_client_sets_pin_off_the_code_opens_the_message_as_before(live_server, browser, axe):
    app = live_server.app
    with app.app_context():
        change_setting(SYSTEM, "client_sets_pin", "false")
        db.session.commit()
    sent = _send(app)
    visit = new_visit(browser, live_server)
    visit.goto(sent.link)
    check_page(visit, axe, "verify_code", "en", 200)
    assert visit.page.get_by_text("choose your own PIN").count() == 0
    _open_with_code(visit, app, sent)
    check_page(visit, axe, "thread", "en", 200)
    assert visit.page.get_by_text(sent.body).is_visible()
    assert _stored(app, sent.contact_id).pin_hash is None
    visit.page.context.close()
