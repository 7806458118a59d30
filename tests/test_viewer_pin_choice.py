"""Clients choose their own PIN after a one-time code: first message, "Forgot your PIN?", "Not now",
the refusals, who may choose (only a session a code just opened), and the setting that turns it off."""
from __future__ import annotations

import re
from datetime import date

import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Contact
from messaging.security.pins import check_pin
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import audit_entries, event_kinds

BODY = "Choice body marker PC-3310"
CODE = re.compile(r"your code is (\d{6})")
CHOSEN = "5831"


def _state(page) -> str:
    return re.search(r'<body data-state="([a-z_]+)"', page.get_data(as_text=True)).group(1)


def _message(contact):
    message = send(contact, body=BODY, secure=True, require_pin=True)
    dispatch_once()
    return message, link_path(message)


def _code_page(client, message, path):
    """Ask for a code from the landing page and post it: the page that follows."""
    sent = client.post(f"{path}/code", data={"channel": "email"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    dispatch_once()
    code = CODE.search(read_outbox(message.contact.email)[-1]["body"]).group(1)
    return client.post(path, data={"code": code})


def _stored(contact_id: int) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_a_client_without_a_pin_proves_it_with_a_code_chooses_a_pin_and_the_next_message_opens_with_it(
        ctx, app, client):
    contact = make_contact(first_name="Noor")
    message, path = _message(contact)
    landing = client.get(path)
    assert _state(landing) == "verify_code"
    assert "After the code you can choose your own PIN" in landing.get_data(as_text=True)

    asked = _code_page(client, message, path)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and _state(asked) == "choose_pin"
    assert BODY not in html and 'name="pin_confirm"' in html and "Choose your PIN" in html

    saved = client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and _state(saved) == "thread" and BODY in html
    assert "Your PIN is saved" in html
    stored = _stored(contact.id)
    assert stored.pin_set_by == "client" and stored.pin_set_at is not None
    assert check_pin(stored.pin_hash, CHOSEN)
    [entry] = audit_entries("contact.pin_set")
    assert (entry.actor, entry.target_id, entry.detail) == (f"client:contact-{contact.id}", str(contact.id),
                                                            {"set_by": "client"})
    assert CHOSEN not in str(entry.detail) and "pin_chosen" in event_kinds(message)

    second, second_path = _message(stored)
    other_device = app.test_client()
    assert _state(other_device.get(second_path)) == "verify_pin"
    opened = other_device.post(second_path, data={"pin": CHOSEN})
    assert opened.status_code == 200 and _state(opened) == "thread" and BODY in opened.get_data(as_text=True)


@pytest.mark.parametrize(("pin", "confirmation", "says"), [
    ("0000", "0000", "not one digit repeated"),
    ("1234", "1234", "not a run of digits"),
    ("98765", "98765", "not a run of digits"),
    ("1980", "1980", "not the year you were born"),
    ("12", "12", "Choose a PIN of 4 to 8 digits."),
    ("5831", "5832", "The two PINs are not the same."),
])
def test_a_weak_or_mistyped_pin_is_refused_with_a_clear_message_and_nothing_is_stored(
        ctx, client, pin, confirmation, says):
    contact = make_contact(first_name="Weak", date_of_birth="1980-01-31")
    message, path = _message(contact)
    _code_page(client, message, path)
    refused = client.post(f"{path}/pin", data={"pin": pin, "pin_confirm": confirmation, "action": "save"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and _state(refused) == "choose_pin" and says in html
    assert 'aria-invalid="true"' in html and BODY not in html
    assert _stored(contact.id).pin_hash is None and audit_entries("contact.pin_set") == []
    retried = client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    assert _state(retried) == "thread" and check_pin(_stored(contact.id).pin_hash, CHOSEN)


def test_not_now_opens_the_message_and_the_next_message_asks_again(ctx, app, client):
    contact = make_contact(first_name="Later")
    message, path = _message(contact)
    _code_page(client, message, path)
    skipped = client.post(f"{path}/pin", data={"action": "skip"})
    assert skipped.status_code == 200 and _state(skipped) == "thread" and BODY in skipped.get_data(as_text=True)
    assert _stored(contact.id).pin_hash is None and "pin_choice_skipped" in event_kinds(message)
    assert _state(client.get(path)) == "thread"  # not asked again on this message

    second, second_path = _message(_stored(contact.id))
    asked_again = _code_page(app.test_client(), second, second_path)
    assert _state(asked_again) == "choose_pin"


def test_forgot_pin_the_code_lets_the_client_choose_a_new_one_and_the_old_one_stops_working(ctx, app, client):
    contact = make_contact(first_name="Forgetful", pin="2468")
    message, path = _message(contact)
    old_device = app.test_client()  # signed in with the old PIN somewhere else
    assert _state(old_device.post(path, data={"pin": "2468"})) == "thread"
    assert _state(client.get(path)) == "verify_pin"
    asked = _code_page(client, message, path)
    html = asked.get_data(as_text=True)
    assert _state(asked) == "choose_pin" and "Choose a new PIN" in html and "Keep my current PIN" in html
    client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    stored = _stored(contact.id)
    assert stored.pin_set_by == "client" and check_pin(stored.pin_hash, CHOSEN)
    assert not check_pin(stored.pin_hash, "2468")
    assert "pin_chosen" in event_kinds(message)
    # A new PIN ends the sessions opened with the old one; this device stays signed in.
    assert _state(old_device.get(path)) == "verify_pin"
    assert _state(client.get(path)) == "thread"


def test_keep_my_current_pin_leaves_the_staff_pin_as_it_was(ctx, client):
    contact = make_contact(first_name="Keeper", pin="2468")
    message, path = _message(contact)
    _code_page(client, message, path)
    kept = client.post(f"{path}/pin", data={"action": "skip"})
    assert _state(kept) == "thread"
    stored = _stored(contact.id)
    assert stored.pin_set_by == "staff" and check_pin(stored.pin_hash, "2468")


def test_a_reload_of_the_choice_page_asks_again_and_a_session_opened_with_the_pin_cannot_choose(ctx, app, client):
    contact = make_contact(first_name="Reload")
    message, path = _message(contact)
    _code_page(client, message, path)
    assert _state(client.get(path)) == "choose_pin"  # the reload keeps the question

    pinned = make_contact(first_name="Pinned", pin="2468")
    other, other_path = _message(pinned)
    assert _state(client.post(other_path, data={"pin": "2468"})) == "thread"
    tried = client.post(f"{other_path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    assert tried.status_code == 303 and tried.headers["Location"].endswith(other_path)
    assert check_pin(_stored(pinned.id).pin_hash, "2468")


def test_the_choice_closes_after_its_window(ctx, client, clock):
    contact = make_contact(first_name="Slow")
    message, path = _message(contact)
    _code_page(client, message, path)
    clock.ahead(minutes=11)
    late = client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    assert late.status_code == 303
    assert _stored(contact.id).pin_hash is None


def test_with_client_sets_pin_off_the_code_opens_the_message_as_before(ctx, client):
    change_setting(SYSTEM, "client_sets_pin", "false")
    db.session.commit()
    contact = make_contact(first_name="Staffonly")
    message, path = _message(contact)
    assert "choose your own PIN" not in client.get(path).get_data(as_text=True)
    opened = _code_page(client, message, path)
    assert _state(opened) == "thread" and BODY in opened.get_data(as_text=True)
    refused = client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    assert refused.status_code == 303 and _stored(contact.id).pin_hash is None


def test_a_date_of_birth_message_never_asks_for_a_pin(ctx, client):
    change_setting(SYSTEM, "pin_method", "date_of_birth")
    db.session.commit()
    contact = make_contact(first_name="Born", date_of_birth=date(1975, 5, 5).isoformat())
    message, path = _message(contact)
    opened = _code_page(client, message, path)
    assert _state(opened) == "thread"


def test_wrong_pins_after_the_choice_count_toward_the_lock(ctx, app, client):
    change_setting(SYSTEM, "max_pin_attempts", "3")
    db.session.commit()
    contact = make_contact(first_name="Counted")
    message, path = _message(contact)
    _code_page(client, message, path)
    client.post(f"{path}/pin", data={"pin": CHOSEN, "pin_confirm": CHOSEN, "action": "save"})
    second, second_path = _message(_stored(contact.id))
    guesser = app.test_client()
    pages = [guesser.post(second_path, data={"pin": "9041"}) for _ in range(3)]
    assert [p.status_code for p in pages] == [403, 403, 423]
    assert "2 attempts left" in pages[0].get_data(as_text=True)


def test_wrong_codes_keep_counting_before_the_choice(ctx, client):
    contact = make_contact(first_name="Typo")
    message, path = _message(contact)
    client.post(f"{path}/code", data={"channel": "email"})
    wrong = client.post(path, data={"code": "000000"})
    assert wrong.status_code == 403 and "That code is not right. 2 more tries with this code." in wrong.get_data(
        as_text=True)
    assert "pin_failed" in event_kinds(message)
    dispatch_once()
    code = CODE.search(read_outbox(contact.email)[-1]["body"]).group(1)
    assert _state(client.post(path, data={"code": code})) == "choose_pin"
