"""The verified client's secure thread through the test client: the whole conversation, replies, withdrawn items."""
from __future__ import annotations

import re
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.client.client_thread import client_thread
from messaging.client.staff_attention import unread_conversation_count
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import revoke_message
from messaging.models import Message
from messaging.settings import get_settings
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds

FIRST = "Your appointment is on Tuesday. Marker TA-1001."
SECOND = "Your results are normal. Marker TB-2002."
PLAIN = "Reminder: bring your card. Marker PL-3003."
PNG_PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                          "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")


def conversation():
    """A contact with a PIN, two secure messages and one standard one; links of both secure ones."""
    contact = make_contact(first_name="Ada", pin="2468")
    first = send(contact, body=FIRST, subject="Appointment", secure=True)
    send(contact, body=PLAIN, secure=False)
    second = send(contact, body=SECOND, subject="Results", secure=True)
    return contact, first, second


def items_on(html: str) -> list[tuple[str, str]]:
    """(public id, state) of each thread item, in page order."""
    return re.findall(r'data-message="([^"]+)" data-item-state="([^"]+)"', html)


def open_with_pin(client, message: Message) -> str:
    response = client.post(link_path(message), data={"pin": "2468"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_thread_shows_the_secure_conversation_oldest_first_with_the_opened_message_marked(ctx, client):
    _contact, first, second = conversation()
    html = open_with_pin(client, second)
    assert 'data-state="thread"' in html
    assert items_on(html) == [(first.public_id, "shown"), (second.public_id, "shown")]
    assert html.index(FIRST) < html.index(SECOND)
    assert PLAIN not in html  # a standard message went out in the clear: not part of the secure thread
    opened = re.search(r'<li id="m-([^"]+)"[^>]*aria-current="true"', html)
    assert opened and opened.group(1) == second.public_id
    assert f'href="#m-{second.public_id}"' in html
    # Every secure message shown is a view.
    assert event_kinds(first).count("viewed") == 1 and event_kinds(second).count("viewed") == 1
    assert len(html.encode()) < 50_000 and "<script" not in html


def test_the_clients_replies_take_their_place_and_mark_the_conversation_unread_for_staff(ctx, client):
    _contact, first, second = conversation()
    open_with_pin(client, first)
    assert unread_conversation_count() == 0
    response = client.post(f"{link_path(first)}/reply", data={"body": "Tuesday works. Marker RE-4004."})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Your reply was sent" in html
    reply = db.session.execute(db.select(Message).filter_by(direction="in")).scalar_one()
    assert reply.staff_unread_at is not None
    assert unread_conversation_count() == 1
    assert [i for _, i in items_on(html)] == ["shown", "shown", "shown"]
    assert html.index(FIRST) < html.index(SECOND) < html.index("RE-4004")
    assert "Your reply" in html


def test_a_revoked_message_shows_as_withdrawn_by_the_organisation_without_its_content(ctx, client):
    _contact, first, second = conversation()
    revoke_message(first, SYSTEM)
    db.session.commit()
    html = open_with_pin(client, second)
    assert items_on(html) == [(first.public_id, "withdrawn"), (second.public_id, "shown")]
    assert "Withdrawn by Sealed demo clinic" in html
    assert FIRST not in html and "Appointment" not in html
    assert "viewed" not in event_kinds(first)


def test_an_expired_message_keeps_its_place_without_content_and_an_unsent_one_is_absent(ctx, client):
    contact, first, second = conversation()
    first.expires_at = utcnow() - timedelta(minutes=1)
    later = send(contact, body="Scheduled text. Marker SC-5005.", secure=True,
                 send_at=utcnow() + timedelta(hours=2))
    db.session.commit()
    html = open_with_pin(client, second)
    assert items_on(html) == [(first.public_id, "expired"), (second.public_id, "shown")]
    assert FIRST not in html and "SC-5005" not in html and later.public_id not in html
    assert "This message has expired" in html


def test_another_link_of_the_same_contact_opens_the_thread_at_once_without_a_pin(ctx, client):
    _contact, first, second = conversation()
    open_with_pin(client, first)
    response = client.get(link_path(second))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-state="thread"' in html
    assert 'name="pin"' not in html and SECOND in html
    opened = re.search(r'<li id="m-([^"]+)"[^>]*aria-current="true"', html)
    assert opened.group(1) == second.public_id
    # Shown on both pages (the thread holds it each time), verified on neither.
    assert event_kinds(second).count("verified") == 0 and event_kinds(second).count("viewed") == 2


def test_another_contacts_link_still_asks_for_that_contacts_proof(ctx, client):
    _contact, first, _second = conversation()
    open_with_pin(client, first)
    stranger = send(make_contact(first_name="Bo", pin="1357"), body="Not yours. Marker NY-6006.", secure=True)
    html = client.get(link_path(stranger)).get_data(as_text=True)
    assert 'name="pin"' in html and "NY-6006" not in html and FIRST not in html


def test_a_message_that_expires_after_its_first_view_is_shown_once(ctx, client):
    contact, first, _second = conversation()
    once = send(contact, body="Read once. Marker RO-7007.", secure=True, require_pin=True)
    once.expire_after_view = True
    db.session.commit()
    assert "RO-7007" in open_with_pin(client, once)
    html = client.get(link_path(first)).get_data(as_text=True)  # the thread again, through another link
    assert "RO-7007" not in html
    assert (once.public_id, "expired") in items_on(html)


def test_revoked_while_the_thread_is_open_the_next_reload_and_reply_show_it_withdrawn(ctx, client):
    _contact, first, second = conversation()
    open_with_pin(client, second)
    revoke_message(first, SYSTEM)
    db.session.commit()
    reload = client.get(link_path(second)).get_data(as_text=True)
    assert (first.public_id, "withdrawn") in items_on(reload) and FIRST not in reload
    # The opened message itself withdrawn: its link dies, and a reply from the open page shows the thread
    # with it withdrawn — its content is never served again.
    revoke_message(second, SYSTEM)
    db.session.commit()
    gone = client.get(link_path(second))
    assert gone.status_code != 200 and SECOND not in gone.get_data(as_text=True)
    path = f"{link_path(second)}"  # the page still holds the link it was opened with
    response = client.post(f"{path}/reply", data={"body": "Why was it withdrawn?"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Your reply was sent" in html
    assert items_on(html)[:2] == [(first.public_id, "withdrawn"), (second.public_id, "withdrawn")]
    assert FIRST not in html and SECOND not in html


def test_a_reply_on_a_dead_link_without_a_session_gets_the_links_plain_page_and_is_not_stored(ctx, client):
    _contact, first, _second = conversation()
    path = link_path(first)
    revoke_message(first, SYSTEM)
    db.session.commit()
    response = client.post(f"{path}/reply", data={"body": "hello"})
    assert response.status_code == 410 and FIRST not in response.get_data(as_text=True)
    assert client.post("/m/not-a-token/reply", data={"body": "hello"}).status_code == 404
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


def test_the_thread_speaks_the_contacts_language(ctx, client):
    contact = make_contact(first_name="Luz", pin="2468", language="es")
    message = send(contact, body="Hola. Marker ES-8008.", secure=True)
    html = open_with_pin(client, message)
    assert '<html lang="es">' in html and "ES-8008" in html


def test_client_thread_orders_by_when_the_client_received_it(ctx):
    contact, first, second = conversation()
    items = client_thread(contact)
    assert [i.message.id for i in items] == [first.id, second.id]
    assert all(i.direction == "out" and i.body for i in items)


def test_a_long_thread_shows_its_latest_part_and_the_opened_message_within_50_kb(ctx, client):
    contact = make_contact(first_name="Ada", pin="2468")
    oldest = send(contact, body="Oldest. Marker OL-0000. " + "o" * 9000, secure=True)
    for n in range(12):
        send(contact, body=f"Long message {n}. " + "x" * 9000, secure=True)
    newest = send(contact, body="Newest. Marker NW-9999.", secure=True)
    html = open_with_pin(client, oldest)
    assert len(html.encode()) < 50_000
    shown = [public_id for public_id, _state in items_on(html)]
    assert shown[0] == oldest.public_id and shown[-1] == newest.public_id
    assert "OL-0000" in html and "NW-9999" in html
    assert "earlier messages are not shown here" in html
    assert "viewed" in event_kinds(oldest)


def test_the_organisations_logo_heads_the_thread_once_uploaded(ctx, client):
    _contact, first, _second = conversation()
    assert "<img" not in open_with_pin(client, first)  # none uploaded: the lock icon
    settings = get_settings()
    settings.logo, settings.logo_media_type = PNG_PIXEL, "image/png"
    db.session.commit()
    html = client.get(link_path(first)).get_data(as_text=True)
    assert '<img class="logo" src="/m/_/logo"' in html and 'alt=""' in html  # the name is printed beside it
    assert client.get("/m/_/logo").data == PNG_PIXEL
