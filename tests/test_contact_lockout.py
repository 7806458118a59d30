"""A contact's PIN is one secret: wrong guesses over all its links lock them all, locks grow,
a one-time code to the address on file opens a locked message, staff can unlock, and a lock
hides the content on every path."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from messaging.client.access import check_pin_attempt
from messaging.client.codes import CodeRefused, issue_code
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import AuditEntry, Contact, Message, MessageEvent
from messaging.security.lockout import lock_duration
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send
from tests.support.viewer import past_pin_choice

BODY = "Contact lock body marker CL-5150"
PIN = "2468"


def _send(contact, body=BODY, require_pin=True) -> tuple[Message, str]:
    message = send(contact, body=body, secure=True, require_pin=require_pin)
    return message, link_path(message)


def _run_out(contact: Contact) -> None:
    """Let every current lock of the contact and its messages end, as time passing would."""
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(db.update(Message).where(Message.contact_id == contact.id, Message.locked_until.is_not(None))
                       .values(locked_until=past))
    db.session.execute(db.update(Contact).where(Contact.id == contact.id).values(pin_locked_until=past))
    db.session.commit()
    db.session.expire_all()


def _lock_length(message: Message) -> timedelta:
    db.session.refresh(message.contact)
    return message.contact.pin_locked_until - utcnow()


def test_sixteen_wrong_pins_over_four_links_lock_all_of_them(ctx, client):
    contact = make_contact(pin=PIN)
    links = [_send(contact, body=f"{BODY} #{i}")[1] for i in range(4)]
    statuses = []
    for guess in range(16):
        statuses.append(client.post(links[guess % 4], data={"pin": f"{1000 + guess}"}).status_code)
    assert statuses[:4] == [403] * 4 and statuses[4] == 423  # the fifth wrong PIN, on the first link
    assert set(statuses[5:]) == {423}
    for path in links:
        page = client.post(path, data={"pin": PIN})
        assert page.status_code == 423 and BODY not in page.get_data(as_text=True)
        assert "This message is locked" in client.get(path).get_data(as_text=True)
    db.session.refresh(contact)
    assert contact.pin_locked_until is not None and contact.pin_lock_count == 1


def test_each_consecutive_lock_lasts_four_times_longer_up_to_a_day():
    assert [lock_duration(15, n) for n in range(6)] == [
        timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(hours=16),
        timedelta(hours=24), timedelta(hours=24)]


def test_locks_grow_until_a_right_pin_resets_the_count(ctx):
    contact = make_contact(pin=PIN)
    message, _path = _send(contact)
    lengths = []
    for _round in range(3):
        for _ in range(5):
            check_pin_attempt(message, "0000", None)
        db.session.commit()
        lengths.append(_lock_length(message))
        _run_out(contact)
    expected = [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4)]
    assert all(abs(got - want) < timedelta(seconds=30) for got, want in zip(lengths, expected, strict=True))

    assert check_pin_attempt(message, PIN, None).ok is True
    db.session.commit()
    for _ in range(5):
        check_pin_attempt(message, "0000", None)
    db.session.commit()
    assert abs(_lock_length(message) - timedelta(minutes=15)) < timedelta(seconds=30)


def test_a_code_to_the_address_on_file_opens_a_locked_message_and_lifts_the_lock(ctx, client):
    contact = make_contact(pin=PIN)
    message, path = _send(contact)
    _other, other_path = _send(contact, body="Another message for the same contact")
    dispatch_once()
    for _ in range(5):
        client.post(path, data={"pin": "1357"})
    landing = client.get(path).get_data(as_text=True)
    assert "This message is locked" in landing and "Send me a code" in landing and 'name="pin"' not in landing

    sent = client.post(f"{path}/code")
    assert sent.status_code == 200 and "We sent a 6-digit code" in sent.get_data(as_text=True)
    dispatch_once()
    code = re.search(r"your code is (\d{6})", read_outbox(contact.email)[-1]["body"]).group(1)
    opened = past_pin_choice(client, path, client.post(path, data={"code": code}))
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)

    db.session.refresh(contact)
    assert contact.pin_locked_until is None and contact.pin_failures == 0 and contact.pin_lock_count == 0
    # The contact's other links take the PIN again.
    again = client.post(other_path, data={"pin": PIN})
    assert again.status_code == 200 and "Another message for the same contact" in again.get_data(as_text=True)
    verified = db.session.execute(db.select(MessageEvent).filter_by(message_id=message.id, kind="verified")
                                  ).scalar_one()
    assert verified.detail == {"via": "code", "lifted_lock": True}


def test_a_pin_message_that_is_not_locked_offers_the_fallback_code_too(ctx, client):
    # Issue 11: a client who forgot the PIN may fall back to a code without a lock first.
    contact = make_contact(pin=PIN)
    _message, path = _send(contact)
    sent = client.post(f"{path}/code")
    assert sent.status_code == 200 and "We sent a 6-digit code" in sent.get_data(as_text=True)


def test_a_lock_hides_the_content_from_a_reply_with_a_live_session(ctx, client):
    contact = make_contact(pin=PIN)
    _message, path = _send(contact)
    _other, other_path = _send(contact, body="The other link")
    assert client.post(path, data={"pin": PIN}).status_code == 200  # the session cookie (it replaced the grant)
    guesser = client.application.test_client()
    for _ in range(5):
        guesser.post(other_path, data={"pin": "1357"})  # locks the contact, so this link too, and ends the session

    reread = client.post(f"{path}/reply", data={"body": ""})
    assert reread.status_code == 423 and BODY not in reread.get_data(as_text=True)
    replied = client.post(f"{path}/reply", data={"body": "Is it bad news?"})
    assert replied.status_code == 423 and BODY not in replied.get_data(as_text=True)
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


def test_codes_are_capped_per_contact_across_its_links(ctx, clock):
    contact = make_contact()  # no PIN: both links open with a code
    first, _ = _send(contact)
    second, _ = _send(contact, body="Second")
    start = utcnow()
    for i in range(5):
        clock.at(start + timedelta(minutes=2 * i))
        issue_code(first if i % 2 else second, None)
    with pytest.raises(CodeRefused) as refused:
        issue_code(first, None)
    assert refused.value.code == "too_many"


def test_verifications_per_address_are_limited_across_links(make_app):
    app = make_app(VIEWER_VERIFY_LIMIT="3 per hour", VIEWER_POST_LIMIT="100 per minute")
    client = app.test_client()
    with app.app_context():
        contact = make_contact(pin=PIN)
        open_paths = [_send(make_contact(), require_pin=False)[1] for _ in range(4)]
        pin_paths = [_send(contact, body=f"{BODY} {i}")[1] for i in range(4)]
    # Opening messages that ask for no secret is not a verification and is not counted.
    assert [client.post(p).status_code for p in open_paths] == [200] * 4
    statuses = [client.post(p, data={"pin": "1357"}).status_code for p in pin_paths]
    assert statuses == [403, 403, 403, 429]
    # Another address still has its own allowance.
    other = client.post(pin_paths[0], data={"pin": PIN}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_staff_see_a_locked_contact_and_unlock_it(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    with app.app_context():
        contact = make_contact(pin=PIN, first_name="Locke")
        message, path = _send(contact)
        for _ in range(5):
            check_pin_attempt(message, "0000", None)
        db.session.commit()
        contact_id, message_id = contact.id, message.id
    staff = signed_in_client(app, role="staff")
    listing = staff.get("/admin/contacts/").get_data(as_text=True)
    assert "locked</span> until" in listing
    details = staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    assert "PIN locked" in details and "Unlock" in details

    response = staff.post(f"/admin/contacts/unlock/?id={contact_id}", follow_redirects=True)
    assert response.status_code == 200 and "is unlocked" in response.get_data(as_text=True)
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.pin_locked_until is None and contact.pin_failures == 0
        assert db.session.get(Message, message_id).locked_until is None
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="contact.unlock")).scalar_one()
        assert entry.target_id == str(contact_id) and entry.detail["messages"] == 1
    assert "PIN locked" not in staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    opened = app.test_client().post(path, data={"pin": PIN})
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)


def test_a_contact_lock_shows_in_the_conversation_list_and_thread(make_app):
    app = make_app()
    with app.app_context():
        contact = make_contact(pin=PIN, first_name="Threadlock")
        message, _path = _send(contact)
        _other, other_path = _send(contact, body="Second link")
        client = app.test_client()
        # Three wrong PINs on one link, two on the other: neither message reaches its own limit,
        # the contact does, and both links are locked.
        for path in (_path, _path, _path, other_path, other_path):
            client.post(path, data={"pin": "1357"})
        assert db.session.execute(db.select(Message).where(Message.locked_until.is_not(None))).first() is None
        contact_id = contact.id
    staff = signed_in_client(app, role="staff")
    index = staff.get("/admin/conversations/?q=Threadlock").get_data(as_text=True)
    assert "Threadlock" in index and "Locked</span>" in index
    thread = staff.get(f"/admin/conversations/{contact_id}").get_data(as_text=True)
    assert thread.count("data-locked") == 2
