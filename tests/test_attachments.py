"""Attachments on secure messages: accepted by content only, sealed with the message's key, sent through the API."""
from __future__ import annotations

import io

import pytest

from messaging.attachments.checks import DOCX, PPTX, XLSX, detect_type
from messaging.attachments.errors import TooLarge, UnsupportedMedia
from messaging.attachments.listing import attachments_for
from messaging.attachments.naming import safe_filename
from messaging.attachments.reading import open_attachment
from messaging.attachments.store import add_attachment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Attachment, AuditEntry, Message
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.api import assert_error, caller
from tests.support.files import ELF, HEIC, JPEG, MEGABYTE, MZ, PDF, PNG, big_pdf, ooxml
from tests.support.messages import send
from tests.support.records import event_kinds


def secure(contact=None, **fields) -> Message:
    return send(contact or make_contact(first_name="Ada", pin="2468"), body="Your results are ready.",
                secure=True, require_pin=False, **fields)


@pytest.mark.parametrize(("data", "media_type"), [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (HEIC, "image/heic"),
    (ooxml("docx"), DOCX), (ooxml("xlsx"), XLSX), (ooxml("pptx"), PPTX)])
def test_each_accepted_type_is_recognised_by_its_content(data, media_type):
    assert detect_type(data) == media_type


@pytest.mark.parametrize("data", [ELF, MZ, b"", b"plain text, not a document", b"GIF89a\x01\x00\x01\x00\x00\x00\x00"])
def test_executables_text_and_other_types_are_refused(data):
    with pytest.raises(UnsupportedMedia) as refused:
        detect_type(data)
    assert refused.value.code == "unsupported_media_type"


def test_a_pdf_name_does_not_make_an_executable_a_pdf(ctx):
    message = secure()
    for fake in (ELF, MZ):
        with pytest.raises(UnsupportedMedia):
            add_attachment(message, "results.pdf", fake)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0


def test_a_png_named_pdf_is_stored_as_a_png(ctx):
    message = secure()
    attachment = add_attachment(message, "scan.pdf", PNG)
    db.session.commit()
    assert attachment.media_type == "image/png"
    assert attachment.size_bytes == len(PNG)


def test_a_file_over_the_setting_is_refused_and_the_limit_follows_the_setting(ctx):
    message = secure()
    with pytest.raises(TooLarge) as refused:
        add_attachment(message, "big.pdf", big_pdf(10.5))
    assert refused.value.code == "too_large"
    db.session.rollback()
    change_setting(SYSTEM, "attachment_max_mb", "11")
    db.session.commit()
    assert add_attachment(message, "big.pdf", big_pdf(10.5)).size_bytes > 10 * MEGABYTE


def test_the_file_is_encrypted_with_the_messages_key_and_reads_back(ctx):
    message = secure()
    attachment = add_attachment(message, "letter.pdf", PDF)
    db.session.commit()
    assert PDF not in attachment.ciphertext and b"%PDF" not in attachment.ciphertext
    assert open_attachment(attachment, "203.0.113.9") == PDF


def test_every_opening_is_an_event_naming_the_file_and_staff_openings_are_audited(ctx):
    message = secure()
    attachment = add_attachment(message, "letter.pdf", PDF)
    db.session.commit()
    open_attachment(attachment, "203.0.113.9")
    open_attachment(attachment, None, staff=SYSTEM)
    db.session.commit()
    assert event_kinds(message).count("attachment_downloaded") == 2
    event = next(e for e in message.events if e.kind == "attachment_downloaded")
    assert event.detail["attachment"] == attachment.public_id and event.detail["filename"] == "letter.pdf"
    audits = db.session.scalars(db.select(AuditEntry).filter_by(action="attachment.download")).all()
    assert len(audits) == 1 and audits[0].target_id == message.public_id


def test_standard_messages_take_no_attachments(ctx):
    message = send(make_contact(), body="See you Tuesday.", secure=False)
    with pytest.raises(ValidationFailed) as refused:
        add_attachment(message, "a.pdf", PDF)
    assert "files" in refused.value.fields


def test_listing_gives_each_messages_files_without_their_content(ctx):
    first, second, empty = secure(), secure(), secure()
    add_attachment(first, "a.pdf", PDF)
    add_attachment(first, "b.png", PNG)
    add_attachment(second, "c.jpg", JPEG)
    db.session.commit()
    listed = attachments_for([first.id, second.id, empty.id])
    assert [a.filename for a in listed[first.id]] == ["a.pdf", "b.png"]
    assert [a.media_type for a in listed[second.id]] == ["image/jpeg"]
    assert empty.id not in listed


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd.pdf", "passwd.pdf"), ("C:\\Users\\me\\scan.png", "scan.png"),
    ('re"sults;\r\n.pdf', "re_sults_.pdf"), ("", "attachment.pdf"), ("notes", "notes.pdf")])
def test_file_names_are_made_safe_for_headers_and_disks(name, safe):
    assert safe_filename(name, "application/pdf") == safe


def test_a_name_without_extension_gets_the_detected_types():
    assert safe_filename("minutes", DOCX) == "minutes.docx" and safe_filename("scan", "image/jpeg") == "scan.jpg"


# --- the API: multipart POST /api/v1/messages ---


def _form(contact_id: int, *files, secure="true") -> dict:
    return {"contact_id": str(contact_id), "channel": "sms", "body": "Your letter is attached.", "secure": secure,
            "require_pin": "false", "files": [(io.BytesIO(data), name) for name, data in files]}


def _contact_id(app) -> int:
    with app.app_context():
        return make_contact(first_name="Ada").id


def test_api_multipart_creates_a_secure_message_with_its_attachments(app):
    api, contact_id = caller(app), _contact_id(app)
    response = api.post("/messages", data=_form(contact_id, ("letter.pdf", PDF), ("scan.pdf", PNG)),
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.json
    assert answer["mode"] == "secure"
    assert [(a["filename"], a["media_type"], a["size_bytes"]) for a in answer["attachments"]] == [
        ("letter.pdf", "application/pdf", len(PDF)), ("scan.pdf", "image/png", len(PNG))]
    again = api.get(f"/messages/{answer['id']}").json
    assert again["attachments"] == answer["attachments"]


def test_api_json_messages_answer_an_empty_attachment_list(app):
    api, contact_id = caller(app), _contact_id(app)
    response = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hello", "secure": True})
    assert response.status_code == 201 and response.json["attachments"] == []


def _message_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Message))


def test_api_refuses_an_executable_named_pdf_with_415_and_stores_nothing(app):
    api, contact_id = caller(app), _contact_id(app)
    before = _message_count(app)
    response = api.post("/messages", data=_form(contact_id, ("letter.pdf", PDF), ("results.pdf", ELF)),
                        content_type="multipart/form-data")
    assert_error(response, 415, "unsupported_media_type", ("files",))
    assert _message_count(app) == before


def test_api_refuses_a_file_over_the_limit_with_413(app):
    api, contact_id = caller(app), _contact_id(app)
    response = api.post("/messages", data=_form(contact_id, ("big.pdf", big_pdf(10.2))),
                        content_type="multipart/form-data")
    assert_error(response, 413, "too_large", ("files",))


def test_api_refuses_attachments_on_a_standard_message_with_422(app):
    api, contact_id = caller(app), _contact_id(app)
    before = _message_count(app)
    response = api.post("/messages", data=_form(contact_id, ("letter.pdf", PDF), secure="false"),
                        content_type="multipart/form-data")
    error = assert_error(response, 422, "invalid", ("files",))
    assert error["fields"]["files"] == "attachments need a secure message"
    assert _message_count(app) == before


def test_api_multipart_fields_are_validated_like_json(app):
    api = caller(app)
    response = api.post("/messages", data={"channel": "sms", "body": "x", "surprise": "1"},
                        content_type="multipart/form-data")
    assert_error(response, 422, "invalid", ("contact_id", "surprise"))


def test_openapi_documents_the_multipart_upload_and_its_refusals(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    create = document["paths"]["/api/v1/messages"]["post"]
    form = create["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["files"]["type"] == "array" and "contact_id" in form["properties"]
    assert {"413", "415", "422"} <= set(create["responses"])
    assert "attachments" in document["components"]["schemas"]["MessageOut"]["properties"]
