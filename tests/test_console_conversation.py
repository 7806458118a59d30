"""Conversations: the contact list and one thread per contact, read through the audited core."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from messaging.audit import Actor
from messaging.client.access import add_reply, mark_viewed
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import AuditEntry, Contact, Message, User
from seeds.factories import make_contact
from tests.support.console import signed_in_client


def sign_in(app, role="staff", email=None):
    return signed_in_client(app, role, email or f"{role}@example.com")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def send(contact: Contact, body: str, secure: bool, minutes_ago: int, channel: str = "sms") -> Message:
    staff = db.session.execute(db.select(User).filter_by(email="staff@example.com")).scalar_one()
    message = send_message(MessageRequest(contact=contact, channel=channel, body=body, secure=secure),
                           Actor.for_user(staff))
    message.created_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return message


def build_thread(app) -> tuple[int, list[str]]:
    """A standard SMS, a secure SMS the client viewed, and the client's secure reply."""
    with app.app_context():
        contact = make_contact(first_name="Robin", last_name="Hale")
        standard = send(contact, "Your appointment is on Friday at 10:00", secure=False, minutes_ago=30)
        secure = send(contact, "Your blood panel is normal", secure=True, minutes_ago=20)
        mark_viewed(secure, ip="203.0.113.9")
        reply = add_reply(secure, "Thank you, that is a relief", ip="203.0.113.9")
        db.session.flush()
        reply.created_at = utcnow() - timedelta(minutes=10)
        db.session.commit()
        return contact.id, [standard.public_id, secure.public_id, reply.public_id]


def test_thread_shows_messages_oldest_first_marked_secure_or_standard(app):
    client = sign_in(app)
    cid, ids = build_thread(app)
    response = client.get(f"/admin/conversations/{cid}")
    page = text(response)
    assert response.status_code == 200
    shown = re.findall(r'data-message-id="([^"]+)" data-direction="(in|out)" data-mode="(\w+)"', page)
    assert shown == [(ids[0], "out", "standard"), (ids[1], "out", "secure"), (ids[2], "in", "secure")]
    assert page.index("Your appointment is on Friday at 10:00") < page.index("Your blood panel is normal") \
        < page.index("Thank you, that is a relief")
    assert page.count('data-mark="secure"') == 2 and page.count('data-mark="standard"') == 1
    assert re.search(r"Viewed at \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", page)
    assert "Robin (reply)" in page
    assert "secure — set by this message" in page and "standard — set by this message" in page
    assert page.count(">Queued</span>") == 2 and ">Received</span>" in page


def test_unviewed_locked_and_unread_secure_messages_say_so(app):
    client = sign_in(app)
    with app.app_context():
        contact = make_contact(first_name="Kim")
        message = send(contact, "Your statement is ready", secure=True, minutes_ago=5)
        message.locked_until = utcnow() + timedelta(minutes=15)
        message.unread_flagged_at = utcnow()
        db.session.commit()
        cid = contact.id
    page = text(client.get(f"/admin/conversations/{cid}"))
    assert "Not viewed yet" in page
    assert re.search(r"Locked until \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", page)
    assert ">Unread</span>" in page
    index = text(client.get("/admin/conversations/"))
    row = re.search(rf'<tr data-contact-id="{cid}">.*?</tr>', index, re.S).group(0)
    assert "Unread" in row and "Locked" in row

    with app.app_context():  # a lock that has run out is no longer shown
        db.session.execute(db.update(Message).values(locked_until=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert "Locked until" not in text(client.get(f"/admin/conversations/{cid}"))


def test_reading_a_thread_is_audited(app):
    client = sign_in(app)
    cid, _ = build_thread(app)
    client.get(f"/admin/conversations/{cid}")
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="thread.read")).scalar_one()
        assert (entry.actor, entry.target_type, entry.target_id) == ("staff@example.com", "contact", str(cid))
        assert entry.detail["messages"] == 3


def test_staff_answer_from_the_thread_and_return_to_it(app):
    client = sign_in(app)
    cid, _ = build_thread(app)
    page = text(client.get(f"/admin/conversations/{cid}"))
    assert f'<input type="hidden" name="contact_id" value="{cid}">' in page
    assert 'name="secure"' in page and "data-sms-alert" in page and 'id="compose-panel"' in page
    answered = client.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "secure_initial": "1",
                                                     "secure": "1", "body": "Glad to hear it. Take care!",
                                                     "action": "send"}, follow_redirects=True)
    assert answered.request.path == f"/admin/conversations/{cid}"
    page = text(answered)
    assert "Sent securely to Robin Hale." in page
    assert page.index("Thank you, that is a relief") < page.index("Glad to hear it. Take care!")


def test_unknown_contact_thread_is_not_found(app):
    client = sign_in(app)
    assert client.get("/admin/conversations/9999").status_code == 404


def test_index_lists_latest_conversation_first_with_search_and_pages(app):
    client = sign_in(app)
    with app.app_context():
        quiet = make_contact(first_name="Quinn", last_name="Quiet")
        older = make_contact(first_name="Olive", last_name="Older")
        newer = make_contact(first_name="Nora", last_name="Newer")
        send(older, "Hello Olive", secure=False, minutes_ago=60)
        send(newer, "Hello Nora", secure=False, minutes_ago=1)
        for n in range(25):
            make_contact(first_name="Filler", last_name=f"Person{n:02d}")
        names = [quiet.full_name, older.full_name, newer.full_name]
    first = text(client.get("/admin/conversations/"))
    assert first.index(names[2]) < first.index(names[1])
    assert names[0] not in first  # no messages: after the 25 rows on page 1
    assert first.count("<tr data-contact-id=") == 25 and "Page 1 of 2" in first and "28 contacts" in first
    second = text(client.get("/admin/conversations/?page=2"))
    assert second.count("<tr data-contact-id=") == 3 and names[0] in second

    found = text(client.get("/admin/conversations/?q=quinn"))
    assert found.count("<tr data-contact-id=") == 1 and "Quinn Quiet" in found and "No messages yet" in found
    none = text(client.get("/admin/conversations/?q=nobody-like-this"))
    assert "No contact matches “nobody-like-this”" in none


def test_index_empty_state(app):
    client = sign_in(app)
    page = text(client.get("/admin/conversations/"))
    assert "No conversations yet" in page


def test_conversations_need_sign_in(client):
    assert client.get("/admin/conversations/").status_code == 302
    assert client.get("/admin/conversations/1").status_code == 302
