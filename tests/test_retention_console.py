"""Staff see "Content destroyed by retention on …" (or "by erasure") where destroyed content was, never an error."""
from __future__ import annotations

import html
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.message_reading import destroyed_notice
from messaging.models import Attachment, Delivery
from messaging.retention import run_retention
from messaging.retention.shredding import destroy_content
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import send
from tests.support.records import audit_entries_in
from tests.support.retention import secure_scene, set_settings


def text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _destroyed_thread(app, clock) -> dict:
    """A contact with a secure message (a file and a reply) destroyed by retention, and a live standard one."""
    with app.app_context():
        clock.ahead()
        set_settings(retention_days=10)
        contact = make_contact(first_name="Noor")
        scene = secure_scene(contact, body="Biopsy: benign")
        due = clock.at(scene.message.expires_at + timedelta(days=10))
        live = send(contact, body="See you on Tuesday", secure=False)
        assert run_retention(SYSTEM).messages == 2
        files = db.session.scalars(db.select(Attachment.public_id).where(
            Attachment.message_id.in_([scene.message.id, scene.reply.id]))).all()
        return {"contact": contact.id, "message": scene.message.id, "reply": scene.reply.id, "live": live.id,
                "due": due, "files": files}


def test_the_conversation_thread_says_when_retention_destroyed_a_message_and_its_reply(app, clock):
    ids = _destroyed_thread(app, clock)
    page = text(signed_in_client(app, "admin").get(f"/admin/conversations/{ids['contact']}"))
    when = f"{ids['due'].day} {ids['due']:%b %Y}"
    assert page.count(f"Content destroyed by retention on {when}") == 2  # the message and the client's reply
    assert "Biopsy: benign" not in page and "Thank you, I read it" not in page
    assert "results.pdf" not in page and "scan.pdf" not in page  # its files went with it
    assert "See you on Tuesday" in page  # what is not due yet is still there
    assert "Re-issue link" not in page  # a fresh link to nothing is not offered


def test_a_destroyed_file_is_gone_for_staff_and_a_fresh_link_is_refused(app, clock):
    ids = _destroyed_thread(app, clock)
    client = signed_in_client(app, "admin")
    for public_id in ids["files"]:
        assert client.get(f"/admin/attachments/{public_id}").status_code == 410
    refused = text(client.post(f"/admin/messages/reissue/?id={ids['message']}", follow_redirects=True))
    assert "Its content was destroyed by retention: there is nothing to re-issue." in refused
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Delivery.id)).where(
            Delivery.message_id == ids["message"], Delivery.status == "queued")) == 0


def test_the_message_page_and_its_content_page_show_the_destroyed_notice(app, clock):
    ids = _destroyed_thread(app, clock)
    client = signed_in_client(app, "admin")
    when = f"{ids['due'].day} {ids['due']:%b %Y}"
    details = text(client.get(f"/admin/messages/details/?id={ids['message']}"))
    assert f"Content destroyed by retention on {when}" in details
    assert "Open content" not in details
    content = text(client.post(f"/admin/messages/content/?id={ids['message']}"))
    assert f"Content destroyed by retention on {when}" in content
    assert "This message holds no content" not in content
    assert [e.target_id for e in audit_entries_in(app, "message.content_opened")]  # the attempt is on record


def test_erased_content_says_by_erasure(app, clock):
    with app.app_context():
        now = clock.ahead()
        contact = make_contact()
        message = send(contact, body="Private note", secure=True)
        assert destroy_content(message, "erasure", now) == 1
        db.session.commit()
        assert destroyed_notice(message) == f"Content destroyed by erasure on {now.day} {now:%b %Y}"
        contact_id, message_id = contact.id, message.id
    client = signed_in_client(app, "admin")
    assert "Content destroyed by erasure on" in text(client.get(f"/admin/conversations/{contact_id}"))
    assert "Content destroyed by erasure on" in text(client.post(f"/admin/messages/content/?id={message_id}"))


def test_content_that_exists_has_no_destroyed_notice(ctx):
    message = send(make_contact(), body="Still here", secure=False)
    assert destroyed_notice(message) is None
