"""Messages: preview, send, read status and events, revoke."""
from __future__ import annotations

import re

from flask import request
from werkzeug.datastructures import FileStorage

from messaging import messages as message_core
from messaging.attachments.checks import MEGABYTE
from messaging.attachments.listing import attachments_for
from messaging.attachments.store import add_attachment
from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.message_reading import decision_reason
from messaging.models import Contact, Message, Situation, Template
from messaging.policy.decision import LEVELS
from messaging.security.lockout import active_lock
from messaging.settings import get_settings

from .auth import current_actor
from .registry import operation
from .schemas import AttachmentOut, EventOut, MessageIn, MessageOut, PreviewOut, WarningOut

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_FILES = 10


def message_request(body: MessageIn) -> message_core.MessageRequest:
    """The core's request from the API body; unknown references are reported on their fields at once."""
    errors = {}
    contact = db.session.get(Contact, body.contact_id)
    if contact is None:
        errors["contact_id"] = f"no contact with id {body.contact_id}"
    template = situation = None
    if body.template:
        template = db.session.execute(db.select(Template).filter_by(slug=body.template)).scalar_one_or_none()
        if template is None:
            errors["template"] = f"no template with slug '{body.template}'"
    if body.situation:
        situation = db.session.execute(db.select(Situation).filter_by(key=body.situation)).scalar_one_or_none()
        if situation is None:
            errors["situation"] = f"no situation with key '{body.situation}'"
    if errors:
        raise ValidationFailed("The message refers to something that does not exist.", errors)
    return message_core.MessageRequest(
        contact=contact, channel=body.channel, body=body.body, subject=body.subject, template=template,
        situation=situation, secure=body.secure, require_pin=body.require_pin, send_at=body.send_at,
        override_reason=body.override_reason, expire_after_view=body.expire_after_view)


def find_message(message_id: str) -> Message:
    # Public ids are url-safe base64; anything else (a NUL byte PostgreSQL refuses, say) names no message.
    if not PUBLIC_ID.fullmatch(message_id):
        raise NotFound(f"No message with id {message_id!r}.")
    try:
        return message_core.get_message(message_id)
    except NotFound:
        raise NotFound(f"No message with id {message_id}.") from None


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.public_id, contact_id=message.contact_id, channel=message.channel, mode=message.mode,
        require_pin=message.require_pin, pin_method=message.pin_method,
        # Automatic replies (opt-out confirmations, help) were decided by no level.
        decided_by=message.decided_by if message.decided_by in LEVELS else None,
        reason=decision_reason(message), recommendation=message.recommendation,
        situation=message.situation.key if message.situation else None,
        template=message.template.slug if message.template else None,
        warnings=[WarningOut(code=w.get("code", ""), message=w.get("message", "")) for w in message.warnings or []],
        status=message.status, suppressed_reason=message.suppressed_reason, created_at=message.created_at,
        send_at=message.send_at, expires_at=message.expires_at, viewed_at=message.viewed_at,
        revoked_at=message.revoked_at, locked_until=active_lock(message),
        events=[EventOut.model_validate(event) for event in message.events],
        attachments=[AttachmentOut(id=a.public_id, filename=a.filename, media_type=a.media_type,
                                   size_bytes=a.size_bytes) for a in attachments_for([message.id]).get(message.id, [])])


def upload_limit() -> int | None:
    """A multipart body may carry MAX_FILES files at the organisation's limit; a JSON body keeps the app's."""
    if request.mimetype != "multipart/form-data":
        return None
    return (MAX_FILES * get_settings().attachment_max_mb + 1) * MEGABYTE


def attach_files(message: Message, files: list[FileStorage]) -> None:
    chosen = [f for f in files if (f.filename or "").strip() or f.content_length]
    if not chosen:
        return
    if len(chosen) > MAX_FILES:
        raise ValidationFailed(f"At most {MAX_FILES} files per message.", {"files": f"at most {MAX_FILES} files"})
    if not message.is_secure:
        raise ValidationFailed("Attachments need a secure message.", {"files": "attachments need a secure message"})
    limit = get_settings().attachment_max_mb * MEGABYTE
    for upload in chosen:
        add_attachment(message, upload.filename, upload.stream.read(limit + 1))


@operation("/messages/preview", "POST", summary="Preview a message's decision and text", tag="messages",
           request_body=MessageIn, response=PreviewOut, errors=(422,))
def preview_message(body: MessageIn) -> PreviewOut:
    """The same body as sending. Answers the decision (secure or standard, PIN, which level decided, the
    recommendation and warnings, and whether policy would block it) and the exact text the client would
    receive — for secure messages the generic notice with a placeholder link. Sends and stores nothing."""
    preview = message_core.preview_message(message_request(body))
    decision = preview.decision
    answer = PreviewOut(
        mode=decision.mode, require_pin=decision.require_pin, pin_method=decision.pin_method,
        decided_by=decision.decided_by, pin_decided_by=decision.pin_decided_by, reason=decision.reason,
        recommendation=decision.recommendation, situation=decision.situation,
        warnings=[WarningOut(**w) for w in decision.warning_dicts()], blocked=decision.blocked,
        blocked_by=list(decision.blocked_by), client_text=preview.client_text, subject=preview.subject,
        suppressed_reason=preview.suppressed_reason)
    db.session.rollback()  # a preview leaves no trace, not even a settings row created on first use
    return answer


@operation("/messages", "POST", summary="Send a message", tag="messages", status=201, request_body=MessageIn,
           response=MessageOut, errors=(409, 413, 415, 422), files_field="files", max_body_bytes=upload_limit)
def create_message(body: MessageIn, files: list[FileStorage]) -> MessageOut:
    """Decides secure or standard (the one-off `secure` and `require_pin` fields first, then the template,
    then the global default), encrypts the content and queues the notice. A marketing message to a contact
    without opt-in, or any message to an opted-out contact, is recorded with status `suppressed` and the
    reason. Secure while the client portal is off: 409 `portal_disabled`. A situation recommended secure sent
    standard under policy `block`: 409 `blocked_by_policy`, unless an admin key gives `override_reason`.

    As multipart/form-data: the same fields as form fields, plus one or more `files` (secure messages only,
    else 422 on `files`). Each file's type is read from its content: PDF, PNG, JPEG, HEIC, DOCX, XLSX or
    PPTX, else 415 `unsupported_media_type`; a file over the `attachment_max_mb` setting: 413 `too_large`.
    Files are encrypted with the message's key; nothing is stored when one is refused."""
    message = message_core.send_message(message_request(body), current_actor())
    attach_files(message, files)
    db.session.commit()
    return message_out(message)


@operation("/messages/<message_id>", "GET", summary="Read a message's status and events", tag="messages",
           response=MessageOut, errors=(404,))
def read_message(message_id: str) -> MessageOut:
    """Status, decision and every event (queued, sent, link_opened, viewed, ...). Never the content."""
    return message_out(find_message(message_id))


@operation("/messages/<message_id>/revoke", "POST", summary="Revoke a message", tag="messages",
           response=MessageOut, errors=(404, 409))
def revoke_message(message_id: str) -> MessageOut:
    """The link stops working at once and anything not yet sent is cancelled. Audited."""
    message = find_message(message_id)
    message_core.revoke_message(message, current_actor())
    db.session.commit()
    return message_out(message)
