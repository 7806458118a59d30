"""Attachments in the console: the composer's file input, the staff thread's list and its audited download."""
from __future__ import annotations

import html
import io
import re

from messaging.db import db
from messaging.models import Attachment, AuditEntry, Message
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.files import ELF, PDF, PNG, big_pdf
from tests.support.records import event_kinds


def contact_id(app) -> int:
    with app.app_context():
        return make_contact(first_name="Ada").id


def compose(staff, cid: int, *files, secure: bool = True):
    data = {"contact_id": str(cid), "channel": "sms", "body": "Your letter is attached.", "action": "send",
            "secure_touched": "1", "files": [(io.BytesIO(content), name) for name, content in files]}
    if secure:
        data["secure"] = "1"
    return staff.post("/admin/compose/", data=data, content_type="multipart/form-data")


def stored(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return [(a.filename, a.media_type, a.size_bytes)
                for a in db.session.scalars(db.select(Attachment).order_by(Attachment.id))]


def message_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Message))


def test_the_composer_has_a_file_input_in_a_multipart_form(app):
    cid = contact_id(app)
    page = signed_in_client(app, "staff").get(f"/admin/compose/?contact_id={cid}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input type="file" id="files" name="files" multiple', page)
    assert '<label for="files"' in page and "10 MB each" in page


def test_staff_attach_files_in_the_composer_and_they_show_in_the_thread(app):
    staff, cid = signed_in_client(app, "staff"), contact_id(app)
    response = compose(staff, cid, ("letter.pdf", PDF), ("scan.pdf", PNG))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(app) == [("letter.pdf", "application/pdf", len(PDF)), ("scan.pdf", "image/png", len(PNG))]
    thread = html.unescape(staff.get(response.headers["Location"]).get_data(as_text=True))
    assert "letter.pdf" in thread and "scan.pdf" in thread and 'aria-label="Attachments"' in thread


def test_a_staff_download_returns_the_file_and_is_audited_and_an_event(app):
    staff, cid = signed_in_client(app, "staff", "nurse@example.com"), contact_id(app)
    compose(staff, cid, ("letter.pdf", PDF))
    thread = staff.get(f"/admin/conversations/{cid}").get_data(as_text=True)
    link = re.search(r'href="(/admin/attachments/[^"]+)"', thread).group(1)
    response = staff.get(link)
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        message = db.session.scalars(db.select(Message).filter_by(contact_id=cid)).one()
        assert event_kinds(message).count("attachment_downloaded") == 1
        entry = db.session.scalars(db.select(AuditEntry).filter_by(action="attachment.download")).one()
        assert entry.actor == "nurse@example.com" and entry.target_id == message.public_id


def test_the_composer_refuses_an_executable_named_pdf_and_sends_nothing(app):
    staff, cid = signed_in_client(app, "staff"), contact_id(app)
    before = message_count(app)
    response = compose(staff, cid, ("results.pdf", ELF))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'data-error-for="files"' in page and "PDF, PNG, JPEG" in page
    assert message_count(app) == before and stored(app) == []


def test_the_composer_refuses_a_file_over_the_limit(app):
    staff, cid = signed_in_client(app, "staff"), contact_id(app)
    response = compose(staff, cid, ("big.pdf", big_pdf(10.5)))
    assert response.status_code == 422
    assert "at most 10 MB" in html.unescape(response.get_data(as_text=True))
    assert stored(app) == []


def test_the_composer_refuses_attachments_on_a_standard_message(app):
    staff, cid = signed_in_client(app, "staff"), contact_id(app)
    before = message_count(app)
    response = compose(staff, cid, ("letter.pdf", PDF), secure=False)
    assert response.status_code == 422
    assert "Attachments need a secure message" in html.unescape(response.get_data(as_text=True))
    assert message_count(app) == before


def test_staff_downloads_need_a_signed_in_user(app, client):
    staff, cid = signed_in_client(app, "staff"), contact_id(app)
    compose(staff, cid, ("letter.pdf", PDF))
    with app.app_context():
        public_id = db.session.scalars(db.select(Attachment.public_id)).one()
    response = client.get(f"/admin/attachments/{public_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
