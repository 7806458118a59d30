"""A client's downloads: only with a live session for the message's contact, only while the message is live, every
download an event; and a client's files on a reply, with the same checks, when the organisation allows them."""
from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

from flask import render_template

from messaging.attachments.listing import attachments_for
from messaging.attachments.store import add_attachment
from messaging.audit import SYSTEM
from messaging.client.sessions import start_session
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import revoke_message
from messaging.models import Attachment, Message
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.files import ELF, PDF, PNG, big_pdf
from tests.support.messages import link_path, send
from tests.support.records import event_kinds
from viewer.session_cookie import COOKIE_NAME


def secure_with_file(contact=None, name="Results März.pdf", data=PDF) -> tuple[Message, Attachment, str]:
    contact = contact or make_contact(first_name="Ada", pin="2468")
    message = send(contact, body="Your results are attached.", secure=True, require_pin=True)
    attachment = add_attachment(message, name, data)
    db.session.commit()
    return message, attachment, link_path(message)


def verify(client, message: Message) -> None:
    """The session the viewer's gate starts after a right PIN, and its cookie in the browser (the test client)."""
    raw, _ = start_session(message.contact, message, "203.0.113.9")
    db.session.commit()
    client.set_cookie(COOKIE_NAME, raw, path="/m/")


def test_a_verified_client_downloads_the_file_as_an_attachment_and_it_is_an_event(ctx, client):
    message, attachment, path = secure_with_file()
    verify(client, message)
    response = client.get(f"{path}/a/{attachment.public_id}")
    assert response.status_code == 200
    assert response.data == PDF and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Results M_rz.pdf"')
    assert "filename*=UTF-8''Results%20M%C3%A4rz.pdf" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    client.get(f"{path}/a/{attachment.public_id}")
    db.session.expire_all()
    assert event_kinds(message).count("attachment_downloaded") == 2
    event = next(e for e in message.events if e.kind == "attachment_downloaded")
    assert event.detail["attachment"] == attachment.public_id and event.detail["filename"] == "Results März.pdf"
    assert event.ip_hash is not None


def test_without_a_session_the_download_is_refused_and_nothing_is_recorded(ctx, client):
    message, attachment, path = secure_with_file()
    response = client.get(f"{path}/a/{attachment.public_id}")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert PDF not in response.data and "Please open the message again" in page
    assert 'data-state="session_ended"' in page
    assert "attachment_downloaded" not in event_kinds(message)


def test_another_contacts_session_cannot_download(ctx, client):
    _, theirs, their_path = secure_with_file()
    mine, _, my_path = secure_with_file(make_contact(first_name="Bo", pin="1357"))
    verify(client, mine)
    # Their link with my session: no session for their contact.
    assert client.get(f"{their_path}/a/{theirs.public_id}").status_code == 403
    # My link naming their file: the file is not in my thread, so it does not exist for me.
    assert client.get(f"{my_path}/a/{theirs.public_id}").status_code == 404
    assert "attachment_downloaded" not in event_kinds(theirs.message)


def test_after_revocation_the_download_is_refused_even_with_a_live_session(ctx, client):
    contact = make_contact(first_name="Ada", pin="2468")
    revoked, attachment, revoked_path = secure_with_file(contact)
    _, _, other_path = secure_with_file(contact, name="other.png", data=PNG)
    verify(client, revoked)
    assert client.get(f"{revoked_path}/a/{attachment.public_id}").status_code == 200
    revoke_message(revoked, SYSTEM)
    db.session.commit()
    # Its own link, and another live link of the same thread: withdrawn, so 410 and no file.
    for path in (revoked_path, other_path):
        response = client.get(f"{path}/a/{attachment.public_id}")
        assert response.status_code == 410 and PDF not in response.data
    # Without the session a dead link is the neutral 404, like any other unknown address.
    client.delete_cookie(COOKIE_NAME, path="/m/")
    assert client.get(f"{revoked_path}/a/{attachment.public_id}").status_code == 404
    assert event_kinds(revoked).count("attachment_downloaded") == 1


def test_an_expired_messages_file_is_gone(ctx, client):
    contact = make_contact(first_name="Ada", pin="2468")
    expired, attachment, _ = secure_with_file(contact)
    live, _, live_path = secure_with_file(contact, name="other.png", data=PNG)
    verify(client, live)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"{live_path}/a/{attachment.public_id}")
    assert response.status_code == 410 and 'data-state="expired"' in response.get_data(as_text=True)
    assert "attachment_downloaded" not in event_kinds(expired)


def test_an_unknown_attachment_or_a_tampered_link_is_the_neutral_404(ctx, client):
    message, attachment, path = secure_with_file()
    verify(client, message)
    assert client.get(f"{path}/a/not-an-attachment").status_code == 404
    assert client.get(f"/m/not-a-real-token/a/{attachment.public_id}").status_code == 404


# --- files on a client's reply ---


def _allow_client_files(on: bool = True):
    change_setting(SYSTEM, "client_attachments", "true" if on else "false")
    db.session.commit()


def _reply(client, path: str, *files):
    return client.post(f"{path}/reply", content_type="multipart/form-data", data={
        "body": "Here is the form, signed.", "files": [(io.BytesIO(data), name) for name, data in files]})


def _client_files() -> list[tuple[str, str, str]]:
    return [(a.filename, a.media_type, a.uploaded_by)
            for a in db.session.scalars(db.select(Attachment).filter_by(uploaded_by="client"))]


def test_a_client_attaches_a_file_to_a_reply_when_allowed(ctx, client):
    _allow_client_files()
    message, _, path = secure_with_file()
    verify(client, message)
    response = _reply(client, path, ("signed.pdf", PDF))
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert _client_files() == [("signed.pdf", "application/pdf", "client")]
    reply = db.session.scalars(db.select(Message).filter_by(direction="in", reply_to_id=message.id)).one()
    assert db.session.scalars(db.select(Attachment).filter_by(uploaded_by="client")).one().message_id == reply.id


def test_a_client_executable_named_pdf_is_refused_with_a_plain_page_and_no_reply(ctx, client):
    _allow_client_files()
    message, _, path = secure_with_file()
    verify(client, message)
    response = _reply(client, path, ("signed.pdf", ELF))
    page = response.get_data(as_text=True)
    assert response.status_code == 415
    assert "This file cannot be attached" in page and "PDF, PNG, JPEG" in page
    assert 'data-state="attachment_refused"' in page
    assert _client_files() == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Message).filter_by(direction="in")) == 0


def test_a_client_file_over_the_limit_is_refused_with_413(ctx, client):
    _allow_client_files()
    message, _, path = secure_with_file()
    verify(client, message)
    response = _reply(client, path, ("scan.pdf", big_pdf(10.5)))
    assert response.status_code == 413
    assert "at most 10 MB" in response.get_data(as_text=True)
    assert 'data-state="attachment_refused"' in response.get_data(as_text=True)
    assert _client_files() == []


def test_client_files_are_ignored_while_the_setting_is_off(ctx, client):
    message, _, path = secure_with_file()
    verify(client, message)
    assert _reply(client, path, ("signed.pdf", PDF)).status_code == 200
    assert _client_files() == []


# --- the thread's partials ---


def _render(app, template: str, **context) -> str:
    with app.test_request_context("/m/x"):
        return render_template(template, **context)


def test_the_thread_lists_each_file_with_its_kind_and_size_and_none_once_withdrawn(ctx):
    message, attachment, path = secure_with_file()
    add_attachment(message, "scan.png", PNG)
    db.session.commit()
    files = attachments_for([message.id])[message.id]
    token = path.removeprefix("/m/")
    item = SimpleNamespace(attachments=files, withdrawn=False, expired=False)
    page = _render(ctx, "viewer/_attachments.html", item=item, token=token)
    assert f'href="/m/{token}/a/{attachment.public_id}"' in page
    assert "Download Results März.pdf" in page and "PDF, " in page and "Download scan.png" in page
    assert 'aria-label="Attached files"' in page
    withdrawn = SimpleNamespace(attachments=files, withdrawn=True, expired=False)
    assert "Download" not in _render(ctx, "viewer/_attachments.html", item=withdrawn, token=token)


def test_the_reply_file_input_shows_only_while_client_attachments_is_on(ctx):
    assert 'name="files"' not in _render(ctx, "viewer/_reply_files.html")
    _allow_client_files()
    page = _render(ctx, "viewer/_reply_files.html")
    assert '<label for="files">' in page and 'type="file" id="files" name="files" multiple' in page
    assert "up to 10 MB each" in page


def test_more_than_five_client_files_are_refused_next_to_the_reply_and_the_text_is_kept(ctx, client):
    _allow_client_files()
    message, _, path = secure_with_file()
    verify(client, message)
    response = _reply(client, path, *[(f"page{n}.pdf", PDF) for n in range(6)])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Attach at most 5 files." in page and "Here is the form, signed." in page
    assert _client_files() == []
