"""Writing a webhook event where something happens: ``emit("message.sent", message_id=…, …)``.

The event and one delivery per live endpoint subscribed to its type are added to the caller's
session, so they commit (or roll back) with what they report: an event is never posted for a
change that did not happen. The endpoints are read once per transaction, so a pass that emits
for every row it sends costs one small query per commit, and nothing when no endpoint exists.
"""
from __future__ import annotations

from sqlalchemy import select

from messaging import clock
from messaging.db import db
from messaging.models.webhooks import (
    WEBHOOK_EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_event_id,
)

_CACHE_KEY = "sealed.webhook_subscriptions"


def _subscriptions() -> list[tuple[int, frozenset]]:
    """(endpoint id, event types) of the live endpoints, read once per transaction of the session."""
    session = db.session()  # the scoped session's own Session: it knows its transaction
    cached = session.info.get(_CACHE_KEY)
    transaction = session.get_transaction()
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    with session.no_autoflush:
        rows = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events)
                               .where(WebhookEndpoint.deleted_at.is_(None))).all()
    subscriptions = [(endpoint_id, frozenset(events or ())) for endpoint_id, events in rows]
    session.info[_CACHE_KEY] = (session.get_transaction(), subscriptions)
    return subscriptions


def forget_subscriptions() -> None:
    """Read the endpoints again at the next emit (this transaction just changed them)."""
    db.session().info.pop(_CACHE_KEY, None)


def emit(event_type: str, **data) -> WebhookEvent | None:
    """Write an event and a delivery for each endpoint subscribed to its type (in the caller's transaction).

    ``data`` holds ids and states only, never content; None values are left out. Returns the event,
    or None when no endpoint wants it (then nothing is written).
    """
    if event_type not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    targets = [endpoint_id for endpoint_id, events in _subscriptions() if event_type in events]
    if not targets:
        return None
    now = clock.utcnow()
    event = WebhookEvent(public_id=new_event_id(), type=event_type, created_at=now,
                         data={key: value for key, value in data.items() if value is not None})
    db.session.add(event)
    for endpoint_id in targets:
        db.session.add(WebhookDelivery(endpoint_id=endpoint_id, event=event, status="queued",
                                       next_attempt_at=now, created_at=now))
    return event
