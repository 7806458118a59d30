"""Verification that fits the message: date of birth, the fallback code from every page, the lock page,
the pages of a link that no longer opens, and "ask the office for a new link"."""
from __future__ import annotations

import re
from datetime import date, timedelta

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import revoke_message
from messaging.models import Message
from messaging.policy.decision import LevelChoice, decide
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds
from tests.support.viewer import past_pin_choice

BODY = "Access body marker AC-4471"
PIN = "2468"
BORN = date(1980, 1, 31)
DOB = {"dob_day": "31", "dob_month": "1", "dob_year": "1980"}
CODE = re.compile(r"your code is (\d{6})")


def _state(page) -> str:
    return re.search(r'<body data-state="([a-z_]+)"', page.get_data(as_text=True)).group(1)


def _dob_message(contact=None, **fields):
    change_setting(SYSTEM, "pin_method", "date_of_birth")
    db.session.commit()
    contact = contact or make_contact(date_of_birth=BORN.isoformat())
    message = send(contact, body=BODY, secure=True, require_pin=True, **fields)
    dispatch_once()
    return message, link_path(message)


def _pin_message(**contact_fields):
    contact = make_contact(pin=PIN, **contact_fields)
    message = send(contact, body=BODY, secure=True, require_pin=True)
    dispatch_once()
    return message, link_path(message)


def _code_for(address: str) -> str:
    dispatch_once()
    return CODE.search(read_outbox(address)[-1]["body"]).group(1)


# --- date of birth ---

def test_date_of_birth_page_has_three_labelled_fields_and_the_right_date_opens(ctx, client):
    message, path = _dob_message()
    landing = client.get(path)
    html = landing.get_data(as_text=True)
    assert landing.status_code == 200 and _state(landing) == "verify_dob"
    for part, autocomplete in (("day", "bday-day"), ("month", "bday-month"), ("year", "bday-year")):
        assert f'<label for="dob_{part}">' in html
        assert re.search(rf'id="dob_{part}" name="dob_{part}"[^>]*autocomplete="{autocomplete}"', html)
    assert 'name="pin"' not in html and BODY not in html
    opened = client.post(path, data=DOB)
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)
    assert "verified" in event_kinds(message)


def test_wrong_dates_count_like_wrong_pins_and_lock_every_link_of_the_contact(ctx, client):
    change_setting(SYSTEM, "max_pin_attempts", "3")
    first, path = _dob_message()
    _second, other_path = _dob_message(first.contact)
    pages = [client.post(path, data={**DOB, "dob_day": str(day)}) for day in (1, 2, 3)]
    assert [p.status_code for p in pages] == [403, 403, 423]
    assert _state(pages[0]) == "wrong_entry"
    assert "That date of birth is not right. 2 attempts left" in pages[0].get_data(as_text=True)
    assert 'aria-describedby="dob-error dob-hint"' in pages[0].get_data(as_text=True)
    assert _state(pages[2]) == "locked"
    # The contact's counter is the PIN's: the other link is locked too, and the right date waits.
    blocked = client.post(other_path, data=DOB)
    assert blocked.status_code == 423 and BODY not in blocked.get_data(as_text=True)
    db.session.refresh(first.contact)
    assert first.contact.pin_locked_until is not None
    assert event_kinds(first).count("pin_failed") == 3 and "locked" in event_kinds(first)


def test_an_impossible_date_is_not_counted_as_a_guess(ctx, client):
    message, path = _dob_message()
    page = client.post(path, data={**DOB, "dob_day": "30", "dob_month": "2"})
    assert page.status_code == 422 and _state(page) == "verify_dob"
    assert 'value="30"' in page.get_data(as_text=True)  # what was typed stays
    assert "pin_failed" not in event_kinds(message)


def test_date_of_birth_without_a_date_on_file_uses_a_code_and_warns(ctx, client):
    message, path = _dob_message(make_contact())
    assert message.pin_method == "one_time_code"
    assert any(w["code"] == "no_date_of_birth" for w in message.warnings or [])
    assert _state(client.get(path)) == "verify_code"


def test_the_decision_warns_no_date_of_birth_only_when_the_date_is_missing():
    default = LevelChoice("secure", True)
    missing = decide(default=default, pin_method="date_of_birth", contact_has_date_of_birth=False)
    assert missing.pin_method == "one_time_code" and missing.has_warning("no_date_of_birth")
    present = decide(default=default, pin_method="date_of_birth", contact_has_date_of_birth=True)
    assert present.pin_method == "date_of_birth" and not present.warnings


# --- the fallback code ---

def test_every_verification_page_offers_a_code_with_a_choice_of_address(ctx, client):
    _m, pin_path = _pin_message()
    _m2, dob_path = _dob_message()
    for path in (pin_path, dob_path):
        html = client.get(path).get_data(as_text=True)
        assert 'action="' + path + '/code"' in html
        assert 'name="channel" value="email"' in html and 'name="channel" value="sms"' in html


def test_forgot_pin_code_by_the_chosen_channel_opens_the_message(ctx, client):
    message, path = _pin_message()
    sent = client.post(f"{path}/code", data={"channel": "sms"})  # the link came by SMS: same channel, chosen
    assert sent.status_code == 200 and _state(sent) == "verify_code"
    assert "by text message" in sent.get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in sent.get_data(as_text=True)
    code = _code_for(message.contact.phone)
    assert not any(CODE.search(row["body"]) for row in read_outbox(message.contact.email))
    asked = client.post(path, data={"code": code})
    assert _state(asked) == "choose_pin"  # the code lets a client who forgot the PIN choose a new one
    opened = past_pin_choice(client, path, asked)
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)


def test_a_code_without_a_choice_goes_by_the_other_channel(ctx, client):
    message, path = _pin_message()
    sent = client.post(f"{path}/code", data={"channel": "fax"})  # not a channel: the default route
    assert sent.status_code == 200 and "by e-mail" in sent.get_data(as_text=True)
    assert _code_for(message.contact.email)


def test_the_locked_page_says_until_when_offers_the_code_and_a_new_link_and_a_code_clears_the_lock(ctx, client):
    change_setting(SYSTEM, "max_pin_attempts", "2")
    message, path = _pin_message()
    for wrong in ("1111", "2222"):
        locked = client.post(path, data={"pin": wrong})
    assert locked.status_code == 423 and _state(locked) == "locked"
    html = locked.get_data(as_text=True)
    db.session.refresh(message)
    until = message.locked_until
    assert "This message is locked" in html and f"{until:%H:%M} UTC on {until.day} {until:%B %Y}" in html
    assert f'action="{path}/code"' in html and f'action="{path}/ask"' in html and 'name="pin"' not in html
    reread = client.get(path)
    assert reread.status_code == 423 and _state(reread) == "locked"
    asked = client.post(f"{path}/ask")
    assert _state(asked) == "link_requested" and "link_requested" in event_kinds(message)

    assert client.post(f"{path}/code", data={"channel": "email"}).status_code == 200
    opened = past_pin_choice(client, path, client.post(path, data={"code": _code_for(message.contact.email)}))
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)
    db.session.refresh(message)
    db.session.refresh(message.contact)
    assert message.locked_until is None and message.contact.pin_locked_until is None


def test_a_wrong_fallback_code_on_a_pin_page_stays_on_the_code_form(ctx, client):
    _message, path = _pin_message()
    client.post(f"{path}/code")
    wrong = client.post(path, data={"code": "000000"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 403 and _state(wrong) == "wrong_entry"
    assert 'id="code-error"' in html and 'aria-describedby="code-error code-hint"' in html


# --- links that no longer open ---

def test_expired_revoked_and_replaced_links_get_their_own_410_pages(ctx, client):
    expired, expired_path = _pin_message()
    expired.expires_at = utcnow() - timedelta(minutes=1)
    revoked, revoked_path = _pin_message()
    revoke_message(revoked, SYSTEM)
    replaced, replaced_path = _pin_message()
    replaced.token_version += 1
    db.session.commit()
    for path, state in ((expired_path, "expired"), (revoked_path, "revoked"), (replaced_path, "replaced")):
        for response in (client.get(path), client.post(path, data={"pin": PIN})):
            assert response.status_code == 410 and _state(response) == state, (path, state)
            html = response.get_data(as_text=True)
            assert BODY not in html and f'action="{path}/ask"' in html
    assert "expired" in event_kinds(expired)


def test_an_expired_link_records_expired_at_most_every_five_minutes(ctx, client):
    message, path = _pin_message()
    message.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    for _ in range(4):
        client.get(path)
    assert event_kinds(message).count("expired") == 1


def test_anything_else_keeps_the_neutral_404(ctx, client):
    _message, path = _pin_message()
    token = path.rsplit("/", 1)[1]
    for bad in (token[:-4], token[:-3] + "AAA", "nonsense"):
        for response in (client.get(f"/m/{bad}"), client.post(f"/m/{bad}/ask"), client.post(f"/m/{bad}/code")):
            assert response.status_code == 404 and _state(response) == "not_found"


# --- ask the office for a new link ---

def test_asking_for_a_new_link_tells_staff_once_an_hour_and_reveals_nothing(ctx, client):
    message, path = _pin_message()
    revoke_message(message, SYSTEM)
    db.session.commit()
    asked = client.post(f"{path}/ask")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and _state(asked) == "link_requested"
    assert BODY not in html and "Request sent" in html
    db.session.refresh(message)
    assert message.link_requested_at is not None and message.staff_unread_at is not None
    again = client.post(f"{path}/ask")
    assert _state(again) == "link_requested" and "already" in again.get_data(as_text=True)
    assert event_kinds(message).count("link_requested") == 1


def test_a_live_unlocked_link_has_nothing_to_ask_for(ctx, client):
    message, path = _pin_message()
    response = client.post(f"{path}/ask")
    assert response.status_code == 303
    assert "link_requested" not in event_kinds(db.session.get(Message, message.id))


# --- the landing ---

def test_the_landing_says_what_to_expect_and_never_asks_for_passwords_or_payment(ctx, client):
    message, path = _pin_message()
    client.post(path, data={"pin": PIN})  # the first page's explanation is behind the contact now
    html = client.get(path).get_data(as_text=True)
    assert "What to expect" not in html  # a live session: the thread
    client.post(f"{path}/signout")
    html = client.get(path).get_data(as_text=True)
    assert "What to expect" in html and "data-introduction" not in html
    assert "will never ask you for a password or for payment details on this page" in html


def test_the_pages_speak_the_contacts_language(ctx, client):
    _message, path = _pin_message(language="es")
    assert '<html lang="es">' in client.get(path).get_data(as_text=True)


def test_a_refused_code_says_why_next_to_the_send_button(ctx, client):
    _message, path = _pin_message()
    client.post(f"{path}/code")
    too_soon = client.post(f"{path}/code")
    html = too_soon.get_data(as_text=True)
    assert too_soon.status_code == 429 and _state(too_soon) == "verify_code"
    assert 'id="send-error"' in html and "You can ask for another in" in html
