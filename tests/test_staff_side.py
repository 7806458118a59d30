"""The staff side of the client's conversation: the unread count, link requests, signing the client out,
and never answering a secure conversation in plain text by accident."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from messaging.client.access import add_reply
from messaging.client.inbound import receive_sms
from messaging.client.sessions import live_session_count, resume_session, start_session
from messaging.clock import utcnow
from messaging.db import db
from messaging.models import Contact, Message
from messaging.settings import get_settings
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send
from tests.support.records import audit_entries_in


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def unread_badge(client) -> int | None:
    """The count next to Conversations in the menu, or None when there is none."""
    match = re.search(r'data-unread-count="(\d+)"', text(client.get("/admin/")))
    return int(match.group(1)) if match else None


def composer(page: str) -> dict:
    """What the conversation's composer would post as it is shown (no JavaScript)."""
    form = re.search(r"<form[^>]*data-compose.*?</form>", page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    secure = re.search(r'<input type="checkbox"[^>]*id="secure"[^>]*>', form)
    if secure and "checked" in secure.group(0):
        fields["secure"] = "1"
    channel = re.search(r'name="channel" value="(\w+)"\s+class="[^"]*" checked', form)
    fields["channel"] = channel.group(1) if channel else "sms"
    fields.pop("csrf_token", None)
    return fields


def secure_conversation(app) -> int:
    """A secure message the client answered through the secure page."""
    with app.app_context():
        contact = make_contact(first_name="Ines", pin="2468")
        message = send(contact, body="Your scan is clear", secure=True)
        add_reply(message, "Thanks. Should I book a follow-up?", ip="203.0.113.4")
        db.session.commit()
        return contact.id


def messages_of(app, contact_id: int) -> list[Message]:
    with app.app_context():
        rows = db.session.execute(db.select(Message).filter_by(contact_id=contact_id, direction="out")
                                  .order_by(Message.id)).scalars().all()
        db.session.expunge_all()
        return rows


def test_the_menu_counts_conversations_waiting_and_opening_one_clears_it(app):
    staff = signed_in_client(app, "staff")
    assert unread_badge(staff) is None
    with app.app_context():
        first = make_contact(first_name="Ana", phone="+14155550141")
        second = make_contact(first_name="Ben", phone="+14155550142")
        receive_sms(first.phone, "Running late")
        receive_sms(first.phone, "Sorry, 10 minutes")
        receive_sms(second.phone, "Can we move to Tuesday?")
        db.session.commit()
        first_id, second_id = first.id, second.id
    assert unread_badge(staff) == 2  # conversations, not messages

    index = text(staff.get("/admin/conversations/"))
    for cid in (first_id, second_id):
        row = re.search(rf'<tr data-contact-id="{cid}">.*?</tr>', index, re.S).group(0)
        assert "data-waiting" in row
    thread = text(staff.get(f"/admin/conversations/{first_id}"))
    assert thread.count("data-new") == 2
    assert unread_badge(staff) == 1
    assert "data-new" not in text(staff.get(f"/admin/conversations/{first_id}"))  # seen now
    with app.app_context():
        receive_sms("+14155550141", "Here now")
        db.session.commit()
    assert unread_badge(staff) == 2


def test_a_link_request_shows_in_the_thread_with_reissue_which_answers_it(app):
    staff = signed_in_client(app, "staff")
    with app.app_context():
        contact = make_contact(first_name="Cleo", pin="2468")
        message = send(contact, body="Your invoice", secure=True)
        message.expires_at = utcnow() - timedelta(hours=2)
        # What the viewer's "ask the office for a new link" writes on an expired page.
        message.link_requested_at = message.staff_unread_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        cid, message_id, old_path = contact.id, message.id, link_path(message)
    assert unread_badge(staff) == 1
    page = text(staff.get(f"/admin/conversations/{cid}"))
    request_box = re.search(r"<div[^>]*data-link-requested.*?</div>", page, re.S).group(0)
    assert "The client asked for a new link" in request_box
    assert "Re-issue link" in page and "Link expired" in page
    assert unread_badge(staff) is None

    assert staff.post(f"/admin/messages/reissue/?id={message_id}").status_code == 302
    page = text(staff.get(f"/admin/conversations/{cid}"))
    assert "The client asked for a new link" not in page and "Re-issue link" not in page
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert app.test_client().get(link_path(message)).status_code == 200
    assert app.test_client().get(old_path).status_code in (404, 410)


def test_staff_sign_the_client_out_of_the_secure_page(app):
    staff = signed_in_client(app, "staff")
    with app.app_context():
        contact = make_contact(first_name="Dev", pin="2468")
        message = send(contact, body="Your report", secure=True)
        raw, _ = start_session(contact, message, "203.0.113.8")
        db.session.commit()
        cid = contact.id
    page = text(staff.get(f"/admin/conversations/{cid}"))
    assert "Sign the client out" in page
    details = text(staff.get(f"/admin/contacts/details/?id={cid}"))
    assert "Sign the client out" in details
    done = staff.post(f"/admin/conversations/{cid}/end-sessions")
    assert done.status_code == 302
    assert "is signed out of the secure page (1 session ended)" in text(staff.get(done.headers["Location"]))
    with app.app_context():
        assert resume_session(raw) is None
        assert live_session_count(db.session.get(Contact, cid)) == 0
    assert [e.detail["sessions"] for e in audit_entries_in(app, "contact.viewer_sessions_end")] == [1]
    assert "Sign the client out" not in text(staff.get(f"/admin/conversations/{cid}"))


def test_answering_a_secure_reply_starts_secure_and_standard_needs_a_confirmation(app):
    staff = signed_in_client(app, "staff")
    cid = secure_conversation(app)
    page = text(staff.get(f"/admin/conversations/{cid}"))
    assert "data-secure-conversation" in page
    fields = composer(page)
    assert fields.get("secure") == "1"

    # Staff switch the toggle off and press Send: nothing goes out; the page asks first.
    standard = {**fields, "body": "Yes, call us to book", "action": "send"}
    standard.pop("secure")
    asked = staff.post("/admin/compose/", data=standard)
    assert asked.status_code == 409
    asked_page = text(asked)
    assert "This conversation is secure" in asked_page and "Nothing has been sent" in asked_page
    assert messages_of(app, cid)[1:] == []

    # The full composer shows the contact as a list; everything else comes back as it was.
    confirmed = staff.post("/admin/compose/", data={**composer(asked_page), "contact_id": cid,
                                                     "body": "Yes, call us to book", "confirm": "yes"})
    assert confirmed.status_code == 302
    assert [m.mode for m in messages_of(app, cid)] == ["secure", "standard"]

    secure = staff.post("/admin/compose/", data={**fields, "body": "Your follow-up is on the 3rd", "action": "send"})
    assert secure.status_code == 302
    assert [m.mode for m in messages_of(app, cid)] == ["secure", "standard", "secure"]


def test_going_back_to_the_rules_is_still_checked_on_the_server(app):
    staff = signed_in_client(app, "staff")
    cid = secure_conversation(app)
    with app.app_context():
        get_settings().default_mode = "standard"
        db.session.commit()
    # "Go back to what the rules decide" (untouched toggle) where the rules say standard.
    untouched = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "Noted",
                                                    "secure_touched": "0", "action": "send"})
    assert untouched.status_code == 409 and "data-confirm-standard" in text(untouched)
    assert len(messages_of(app, cid)) == 1
    # A conversation whose client never wrote securely is answered as usual.
    with app.app_context():
        other = make_contact(first_name="Eli", phone="+14155550150").id
    plain = staff.post("/admin/compose/", data={"contact_id": other, "channel": "sms", "body": "Noted",
                                                "action": "send"})
    assert plain.status_code == 302


def test_a_protected_looking_text_offers_continue_securely_which_sends_secure(app):
    staff = signed_in_client(app, "staff")
    with app.app_context():
        get_settings().default_mode = "standard"
        contact = make_contact(first_name="Fay", phone="+14155550160", pin="2468")
        receive_sms(contact.phone, "See you Friday")
        receive_sms(contact.phone, "My date of birth is 12/03/1980, card 4111 1111 1111 1111")
        db.session.commit()
        cid = contact.id
        get = db.session.execute(db.select(Message).filter_by(contact_id=cid).order_by(Message.id)).scalars().all()
        plain_id, protected_id = get[0].public_id, get[1].public_id
    page = text(staff.get(f"/admin/conversations/{cid}"))
    blocks = {m.group(1): m.group(0) for m in re.finditer(
        r'data-message-id="([^"]+)".*?(?=<li class="sealed-message|</ol>)', page, re.S)}
    assert "data-continue-securely" not in blocks[plain_id]
    link = re.search(r'href="([^"]+)"\s+data-continue-securely', blocks[protected_id]).group(1)
    assert composer(page).get("secure") is None  # the plain SMS conversation starts as the rules say

    preset = text(staff.get(html.unescape(link)))
    fields = composer(preset)
    assert fields.get("secure") == "1"
    sent = staff.post("/admin/compose/", data={**fields, "body": "Please send that through the secure page",
                                               "action": "send"})
    assert sent.status_code == 302
    assert [m.mode for m in messages_of(app, cid)] == ["secure"]
