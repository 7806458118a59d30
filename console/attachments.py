"""Attachments in the console: the composer's uploads, and staff downloads from the thread (audited).

Downloads are a separate, menu-less view: the staff thread links to it, and every download is
both an event on the message and an audit entry naming the user.
"""
from __future__ import annotations

from flask import Response, abort, request
from flask_admin import Admin, expose
from werkzeug.datastructures import FileStorage

from messaging.attachments.checks import ACCEPTED_NAMES, MEGABYTE
from messaging.attachments.listing import attachments_for, find_attachment, human_size
from messaging.attachments.naming import content_disposition
from messaging.attachments.reading import open_attachment
from messaging.attachments.store import add_attachment
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Message
from messaging.settings import get_settings

from .base import SecureView, current_actor

MAX_FILES = 10
UPLOAD_ENDPOINTS = {"compose.index"}


def uploads(files: list[FileStorage]) -> list[FileStorage]:
    """The inputs that carry a file: a browser sends an empty part for an input left empty."""
    return [f for f in files if (f.filename or "").strip()]


def attach_uploads(message: Message, files: list[FileStorage]) -> None:
    """Store the composer's files on the message just sent; the core's refusals propagate (nothing is kept)."""
    chosen = uploads(files)
    if not chosen:
        return
    if len(chosen) > MAX_FILES:
        raise ValidationFailed(f"Attach at most {MAX_FILES} files.", {"files": f"Attach at most {MAX_FILES} files."})
    if not message.is_secure:
        raise ValidationFailed("Attachments need a secure message: switch on “Send securely”.",
                               {"files": "Attachments need a secure message: switch on “Send securely”."})
    limit = get_settings().attachment_max_mb * MEGABYTE
    for upload in chosen:
        add_attachment(message, upload.filename, upload.stream.read(limit + 1))


def upload_hint() -> str:
    return f"{ACCEPTED_NAMES}; up to {get_settings().attachment_max_mb} MB each. Secure messages only."


def attachments_of(message: Message) -> list:
    """One message's files, for the staff thread (the thread view is not ours to change)."""
    return attachments_for([message.id]).get(message.id, [])


def _raise_upload_limit() -> None:
    # Runs before the input guard and CSRF read the form: only the composer's multipart post may carry
    # MAX_FILES files at the organisation's limit.
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        request.max_content_length = (MAX_FILES * get_settings().attachment_max_mb + 1) * MEGABYTE


class AttachmentDownloadView(SecureView):
    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        abort(404, "Attachments are opened from a conversation.")

    @expose("/<public_id>")
    def download(self, public_id: str):
        attachment = find_attachment(public_id)
        if attachment is None:
            abort(404, "There is no such attachment.")
        if attachment.message.content_destroyed_at is not None:
            abort(410, f"This file was destroyed with its message's content "
                       f"(by {attachment.message.content_destroyed_reason}).")
        data = open_attachment(attachment, request.remote_addr, staff=current_actor())
        db.session.commit()
        response = Response(data, mimetype=attachment.media_type)
        response.headers["Content-Disposition"] = content_disposition(attachment.filename)
        response.headers["Cache-Control"] = "no-store"
        return response


def register(admin: Admin) -> None:
    admin.add_view(AttachmentDownloadView(name="Attachment", endpoint="attachments", url="attachments"))
    admin.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)
    admin.app.jinja_env.globals.update(attachment_size=human_size, attachment_upload_hint=upload_hint,
                                       attachments_of=attachments_of)
