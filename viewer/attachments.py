"""Attachment downloads for a verified client, and the files a client adds to a reply.

A download needs the live session of the contact the file's message belongs to, and that message
must still be readable in the thread: withdrawn or expired → 410, anything else → the neutral 404.
"""
from __future__ import annotations

from flask import Response, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from messaging import clock
from messaging.attachments.checks import DOCX, MEGABYTE, PPTX, XLSX
from messaging.attachments.errors import TooLarge, UnsupportedMedia
from messaging.attachments.listing import find_attachment, human_size
from messaging.attachments.naming import content_disposition
from messaging.attachments.reading import open_attachment
from messaging.attachments.store import add_attachment
from messaging.client.access import resolve_link
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Attachment, Message
from messaging.settings import get_settings

from .blueprint import bp
from .language import use_language
from .pages import client_ip, not_found, notice
from .session_cookie import current_session

MAX_CLIENT_FILES = 5
UPLOAD_REFUSALS = (UnsupportedMedia, TooLarge)
KIND_LABELS = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/heic": "HEIC",
               DOCX: "Word", XLSX: "Excel", PPTX: "PowerPoint"}


@bp.record_once
def _setup(state) -> None:
    app = state.app
    app.jinja_env.filters.update(file_size=human_size, file_kind=lambda media_type: KIND_LABELS.get(media_type, ""))
    app.jinja_env.globals.update(client_attachments_on=lambda: get_settings().client_attachments,
                                 attachment_max_mb=lambda: get_settings().attachment_max_mb)
    # Before the app's other hooks read the form: a reply with files may be larger than MAX_CONTENT_LENGTH.
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_reply_limit)


def _raise_reply_limit() -> None:
    if request.endpoint == "viewer.reply" and request.mimetype == "multipart/form-data" \
            and get_settings().client_attachments:
        request.max_content_length = (MAX_CLIENT_FILES * get_settings().attachment_max_mb + 1) * MEGABYTE


def _withdrawn(message: Message) -> bool:
    return message.revoked_at is not None or message.status in ("cancelled", "revoked")


def _expired(message: Message) -> bool:
    return message.direction == "out" and message.expires_at is not None and message.expires_at <= clock.utcnow()


def _hidden(message: Message) -> bool:
    """Not part of the client's thread at all (never sent, or not theirs to see)."""
    if message.direction == "in":
        return message.channel != "web"
    return message.mode != "secure" or message.status in ("suppressed", "scheduled") or (
        message.send_at is not None and message.send_at > clock.utcnow())


@bp.get("/<token>/a/<attachment_id>")
def download(token: str, attachment_id: str):
    from .thread import thread_anchor  # thread.py imports this module for replies

    anchor = thread_anchor(token)
    attachment = find_attachment(attachment_id)
    if anchor is None or attachment is None or attachment.message.contact_id != anchor.contact_id:
        return not_found()
    use_language(anchor.contact.language)
    if current_session(anchor.contact_id) is None:
        if resolve_link(token) is None:
            return not_found()  # without a session a dead link says no more than any other
        return notice(_("Please open the message again"),
                      _("For your privacy, downloads need you to confirm who you are first."), 403, token,
                      state="session_ended")
    message = attachment.message
    if _hidden(message):
        return not_found()
    if _withdrawn(message):
        return notice(_("This file is no longer available"),
                      _("%(org)s withdrew the message it came with.", org=get_settings().org_name), 410, token,
                      state="revoked")
    if _expired(message):
        return notice(_("This file is no longer available"),
                      _("The message it came with has expired."), 410, token, state="expired")
    if message.content_destroyed_at is not None:
        return notice(_("This file is no longer available"),
                      _("The message it came with has expired."), 410, token, state="expired")
    data = open_attachment(attachment, client_ip())
    db.session.commit()
    response = Response(data, mimetype=attachment.media_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def uploaded_files(files: list[FileStorage]) -> list[FileStorage]:
    """The file inputs that carry a file (a browser sends an empty part for an empty input)."""
    return [f for f in files if f is not None and (f.filename or "").strip()]


def attach_client_files(reply: Message, files: list[FileStorage]) -> list[Attachment]:
    """Store a client's files on their reply when the organisation allows it; raises the upload refusals."""
    chosen = uploaded_files(files)
    if not chosen or not get_settings().client_attachments:
        return []
    if len(chosen) > MAX_CLIENT_FILES:
        # Not a refusal of a file's type or size: the reply form says it next to the text, kept as typed.
        raise ValidationFailed(_("Attach at most %(count)d files.", count=MAX_CLIENT_FILES),
                               {"files": _("Attach at most %(count)d files.", count=MAX_CLIENT_FILES)})
    limit = get_settings().attachment_max_mb * MEGABYTE
    stored = []
    for upload in chosen:
        data = upload.stream.read(limit + 1)
        stored.append(add_attachment(reply, upload.filename, data, uploaded_by="client"))
    return stored


def refused_page(error: UnsupportedMedia | TooLarge, message: Message, token: str):
    """The plain page for a refused client upload (415 or 413): says what is accepted, nothing else."""
    db.session.rollback()
    use_language(message.contact.language)
    if isinstance(error, TooLarge):
        text = _("Each file can be at most %(mb)d MB. Your reply was not sent; please try a smaller file.",
                 mb=get_settings().attachment_max_mb)
        status = 413
    else:
        text = _("Only PDF, PNG, JPEG, HEIC, Word, Excel and PowerPoint files can be attached. Your reply "
                 "was not sent; please try another file.")
        status = 415
    return notice(_("This file cannot be attached"), text, status, token, state="attachment_refused")
