"""One-time codes: sent over the other channel, 10 minutes, hashed, single use, same attempt limit."""
from __future__ import annotations

import re
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.client.codes import CodeRefused, code_route, issue_code, mask_address
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Delivery, OneTimeCode
from messaging.policy.optout import mark_opted_out
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds
from tests.support.viewer import past_pin_choice

BODY = "Code-protected body marker CD-8812"
CODE_TEXT = re.compile(r"^Sealed demo clinic: your code is (\d{6})\. It expires in 10 minutes\.$")


def _message(contact, channel="sms"):
    message = send(contact, channel=channel, body=BODY, secure=True, require_pin=True)
    dispatch_once()  # the notice goes out first, as in life
    return message, link_path(message)


def _received_code(address: str) -> tuple[str, dict]:
    dispatch_once()
    row = read_outbox(address)[-1]
    match = CODE_TEXT.match(row["body"])
    assert match, row["body"]
    return match.group(1), row


def test_a_contact_without_a_pin_opens_the_message_with_a_code_sent_by_email(ctx, client):
    contact = make_contact(first_name="Ada")  # no PIN: a one-time code, then the client may choose a PIN
    message, path = _message(contact, channel="sms")
    assert message.pin_method == "contact_pin"
    landing = client.get(path).get_data(as_text=True)
    assert "Send me a code" in landing and 'name="pin"' not in landing
    assert f"by e-mail to <strong>{mask_address('email', contact.email)}</strong>" in landing

    sent = client.post(f"{path}/code")
    page = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "We sent a 6-digit code by e-mail" in page and "It expires in 10 minutes" in page
    assert contact.email not in page  # the page shows the address masked only
    assert "code_sent" in event_kinds(message)

    code, row = _received_code(contact.email)
    assert row["channel"] == "email" and row["subject"] == "Your code from Sealed demo clinic"
    opened = past_pin_choice(client, path, client.post(path, data={"code": code}))
    assert opened.status_code == 200 and BODY in opened.get_data(as_text=True)
    db.session.refresh(message)
    assert message.viewed_at is not None
    assert {"verified", "viewed"} <= set(event_kinds(message))


def test_the_code_message_holds_neither_the_link_nor_the_content(ctx, client):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    _code, row = _received_code(contact.email)
    token = path.rsplit("/", 1)[1]
    for leak in (token, "/m/", "http", "CD-8812", BODY, message.public_id):
        assert leak not in row["body"] and leak not in (row["subject"] or "")


def test_the_plain_code_is_not_stored_in_the_database(ctx, client):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    delivery = db.session.execute(db.select(Delivery).filter_by(kind="code")).scalar_one()
    sealed = delivery.payload_ciphertext
    stored = db.session.execute(db.select(OneTimeCode)).scalar_one()
    code, _row = _received_code(contact.email)
    assert delivery.to_address == contact.email and delivery.channel == "email"
    assert code.encode() not in sealed
    assert delivery.payload_ciphertext is None  # cleared once the code was sent
    assert code not in stored.code_hash and stored.code_hash.startswith("$argon2")
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_global_one_time_code_method_sends_the_code_by_sms_for_an_email_link(ctx, client):
    change_setting(SYSTEM, "pin_method", "one_time_code")
    db.session.commit()
    contact = make_contact(pin="2468")  # has a PIN, but the organisation uses codes
    message, path = _message(contact, channel="email")
    assert message.pin_method == "one_time_code"
    assert client.post(path, data={"pin": "2468"}).status_code == 422  # a PIN is not a code
    page = client.post(f"{path}/code").get_data(as_text=True)
    assert "by text message" in page
    code, row = _received_code(contact.phone)
    assert row["channel"] == "sms" and row["subject"] is None
    assert client.post(path, data={"code": code}).status_code == 200


def test_without_another_channel_the_code_goes_the_same_way_and_the_page_says_so(ctx, client):
    contact = make_contact(email=None)
    message, path = _message(contact, channel="sms")
    landing = client.get(path).get_data(as_text=True)
    assert "no other way to reach you" in landing
    page = client.post(f"{path}/code").get_data(as_text=True)
    assert "by text message" in page and "the code went the same way as this link" in page
    code, row = _received_code(contact.phone)
    assert row["channel"] == "sms"
    assert client.post(path, data={"code": code}).status_code == 200


def test_a_contact_who_texted_stop_gets_no_code_by_sms(ctx):
    contact = make_contact()
    message, _ = _message(contact, channel="email")
    mark_opted_out(contact, source="keyword")
    route = code_route(message)
    assert (route.channel, route.same_channel) == ("email", True)


def test_a_code_works_once(ctx, client):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    code, _row = _received_code(contact.email)
    assert client.post(path, data={"code": code}).status_code == 200
    # Another browser (this one now has a session, which would skip the code).
    again = client.application.test_client().post(path, data={"code": code})
    assert again.status_code == 403 and BODY not in again.get_data(as_text=True)
    assert "This code is no longer valid. Ask for a new code." in again.get_data(as_text=True)


def test_a_code_expires_after_ten_minutes(ctx, client, clock):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    code, _row = _received_code(contact.email)
    clock.ahead(minutes=10, seconds=1)
    late = client.post(path, data={"code": code})
    assert late.status_code == 403 and BODY not in late.get_data(as_text=True)
    db.session.refresh(message)
    assert message.viewed_at is None and "pin_failed" in event_kinds(message)


def test_a_new_code_replaces_the_old_one_and_not_sooner_than_a_minute(ctx, client):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    first, _row = _received_code(contact.email)
    too_soon = client.post(f"{path}/code")
    assert too_soon.status_code == 429
    assert "You can ask for another in" in too_soon.get_data(as_text=True)
    earlier = db.session.execute(db.select(OneTimeCode).filter_by(message_id=message.id)).scalar_one()
    earlier.created_at -= timedelta(seconds=61)  # a minute has passed since the first code
    db.session.commit()
    assert client.post(f"{path}/code").status_code == 200
    second, _row = _received_code(contact.email)
    assert len(read_outbox(contact.email)) == 2
    old = db.session.execute(db.select(OneTimeCode).filter_by(message_id=message.id)
                             .order_by(OneTimeCode.id)).scalars().first()
    db.session.refresh(old)
    assert old.expires_at <= utcnow() and old.used_at is None
    if first != second:
        assert client.post(path, data={"code": first}).status_code == 403
    assert client.post(path, data={"code": second}).status_code == 200


def test_codes_are_capped_per_hour(ctx, clock):
    contact = make_contact()
    message, _ = _message(contact)
    for minute in range(5):
        clock.ahead(minutes=2 * minute)
        issue_code(message, None)
    clock.ahead(minutes=11)
    try:
        issue_code(message, None)
        raise AssertionError("a sixth code within the hour was sent")
    except CodeRefused as refused:
        assert refused.code == "too_many" and "Too many codes" in refused.message
    clock.ahead(minutes=61)
    issue_code(message, None)


def test_a_code_takes_three_wrong_answers_then_is_spent_even_for_the_right_one(ctx, client):
    contact = make_contact()
    message, path = _message(contact)
    client.post(f"{path}/code")
    code, _row = _received_code(contact.email)
    wrong = "000000" if code != "000000" else "111111"
    pages = [client.post(path, data={"code": wrong}) for _ in range(3)]
    assert [p.status_code for p in pages] == [403, 403, 403]
    assert "2 more tries with this code" in pages[0].get_data(as_text=True)
    assert "too many wrong answers" in pages[2].get_data(as_text=True)
    spent = client.post(path, data={"code": code})  # the right code, but this code is spent
    assert spent.status_code == 403 and BODY not in spent.get_data(as_text=True)
    assert "too many wrong answers" in spent.get_data(as_text=True)
    assert db.session.execute(db.select(OneTimeCode).filter_by(message_id=message.id)).scalar_one().failures == 3
    assert "viewed" not in event_kinds(message)


def test_a_pin_message_sends_a_fallback_code_on_request(ctx, client):
    # Issue 11: "forgot my PIN" — any verification page may ask for a code (it used to be refused).
    contact = make_contact(pin="2468")
    _message_, path = _message(contact)
    response = client.post(f"{path}/code")
    assert response.status_code == 200
    assert "We sent a 6-digit code" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Delivery).filter_by(kind="code")).first() is not None


def test_masked_addresses_reveal_little(ctx):
    assert mask_address("email", "dana@example.com") == "d***@example.com"
    assert mask_address("sms", "+14155550123") == "•••0123"
