"""Wrong PINs count; at the limit the message locks for a while; the lock always ends by itself."""
from __future__ import annotations

from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.client.access import check_pin_attempt
from messaging.clock import utcnow
from messaging.db import db
from messaging.security.lockout import active_lock
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds

BODY = "Lockout body marker LK-4410"


def _message():
    message = send(make_contact(pin="2468"), body=BODY, secure=True)
    return message, link_path(message)


def test_wrong_pin_five_times_locks_the_message(ctx):
    message, _ = _message()
    outcomes = [check_pin_attempt(message, "0000", "203.0.113.5") for _ in range(5)]
    db.session.commit()
    assert [o.attempts_left for o in outcomes[:4]] == [4, 3, 2, 1]
    assert outcomes[4].ok is False and outcomes[4].locked_until is not None
    expected = utcnow() + timedelta(minutes=15)
    assert abs(outcomes[4].locked_until - expected) < timedelta(seconds=30)
    assert active_lock(message) == outcomes[4].locked_until
    assert event_kinds(message).count("pin_failed") == 5 and event_kinds(message).count("locked") == 1


def test_the_right_pin_during_a_lock_is_refused(ctx):
    message, _ = _message()
    for _ in range(5):
        check_pin_attempt(message, "0000", None)
    outcome = check_pin_attempt(message, "2468", None)
    assert outcome.ok is False and outcome.locked_until is not None
    assert "verified" not in event_kinds(message)


def test_a_lock_ends_by_itself_and_the_reader_gets_a_fresh_allowance(ctx, clock):
    message, _ = _message()
    for _ in range(5):
        check_pin_attempt(message, "0000", None)
    db.session.commit()
    # Move the clock past the lock, consistently for the access checks and the lock claims.
    clock.ahead(minutes=16)
    assert active_lock(message) is None
    wrong = check_pin_attempt(message, "0000", None)
    assert wrong.ok is False and wrong.attempts_left == 4
    assert check_pin_attempt(message, "2468", None).ok is True


def test_lock_settings_are_honoured(ctx):
    change_setting(SYSTEM, "max_pin_attempts", "2")
    change_setting(SYSTEM, "lockout_minutes", "40")
    db.session.commit()
    message, _ = _message()
    check_pin_attempt(message, "0000", None)
    outcome = check_pin_attempt(message, "0000", None)
    assert outcome.locked_until is not None
    assert abs(outcome.locked_until - (utcnow() + timedelta(minutes=40))) < timedelta(seconds=30)


def test_through_the_viewer_five_wrong_pins_lock_and_the_page_says_until_when(ctx, client):
    message, path = _message()
    pages = [client.post(path, data={"pin": "1357"}) for _ in range(5)]
    assert [p.status_code for p in pages] == [403, 403, 403, 403, 423]
    assert "1 attempt left" in pages[3].get_data(as_text=True)
    locked_page = pages[4].get_data(as_text=True)
    db.session.refresh(message)
    until = message.locked_until
    assert "This message is locked" in locked_page
    assert f"{until:%H:%M} UTC on {until.day} {until:%B %Y}" in locked_page
    assert 'name="pin"' not in locked_page and BODY not in locked_page

    right = client.post(path, data={"pin": "2468"})
    assert right.status_code == 423 and BODY not in right.get_data(as_text=True)
    landing = client.get(path).get_data(as_text=True)
    assert "This message is locked" in landing and 'name="pin"' not in landing
    assert event_kinds(message).count("locked") == 1 and "viewed" not in event_kinds(message)


def test_through_the_viewer_the_lock_ends_by_itself(ctx, client):
    message, path = _message()
    for _ in range(5):
        client.post(path, data={"pin": "1357"})
    db.session.refresh(message)
    assert message.locked_until is not None
    # The lock has run out, on the message and on its contact (the PIN is the contact's secret).
    message.locked_until = message.contact.pin_locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    landing = client.get(path).get_data(as_text=True)
    assert "locked" not in landing and "5 attempts left" in landing
    response = client.post(path, data={"pin": "2468"})
    assert response.status_code == 200 and BODY in response.get_data(as_text=True)
    db.session.refresh(message)
    assert message.locked_until is None and message.pin_failures == 0 and message.viewed_at is not None
    assert message.contact.pin_failures == 0 and message.contact.pin_lock_count == 0


def test_a_right_pin_clears_a_lock_a_parallel_request_set_after_this_one_loaded_the_rows(ctx):
    from sqlalchemy import text

    from messaging.security.lockout import clear_message_lock

    message, _ = _message()
    assert message.locked_until is None and message.contact.pin_locked_until is None  # loaded here
    until = utcnow() + timedelta(minutes=15)
    with db.engine.begin() as other:  # a second connection: the parallel request's claim
        other.execute(text("UPDATE message SET pin_failures = 5, locked_until = :until WHERE id = :id"),
                      {"until": until, "id": message.id})
        other.execute(text("UPDATE contact SET pin_failures = 5, pin_locked_until = :until WHERE id = :id"),
                      {"until": until, "id": message.contact_id})
    clear_message_lock(message)
    db.session.commit()
    with db.engine.connect() as fresh:
        row = fresh.execute(text("SELECT pin_failures, locked_until FROM message WHERE id = :id"),
                            {"id": message.id}).one()
        contact_row = fresh.execute(text("SELECT pin_failures, pin_locked_until FROM contact WHERE id = :id"),
                                    {"id": message.contact_id}).one()
    assert tuple(row) == (0, None) and tuple(contact_row) == (0, None)
    assert active_lock(message) is None
