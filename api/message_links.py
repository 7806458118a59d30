"""A message's link: re-issue a fresh one (the revoke operation lives with the messages)."""
from __future__ import annotations

from messaging.client.lifetime import reissue_message
from messaging.db import db

from .auth import current_actor
from .messages import find_message, message_out
from .registry import operation
from .schemas import MessageOut


@operation("/messages/<message_id>/reissue", "POST", summary="Re-issue a secure message's link", tag="messages",
           response=MessageOut, errors=(404, 409))
def reissue_message_link(message_id: str) -> MessageOut:
    """A fresh link for an expired, revoked or lost one: the old link stops working for good (its page says
    it was replaced), the new one lives the message's lifetime from now (`expires_at`), a new notice is
    queued to the client and the status is `queued` again. Event `reissued`, audited. Standard, inbound,
    suppressed, scheduled or cancelled messages, or a client who withdrew consent on the channel: 409
    `not_reissuable`; the client portal turned off: 409 `portal_disabled`."""
    message = find_message(message_id)
    reissue_message(message, current_actor())
    db.session.commit()
    return message_out(message)
