"""Webhook endpoints: register one (its secret is answered once), list them, read one, delete one. Admin keys."""
from __future__ import annotations

from messaging.db import db
from messaging.errors import NotFound
from messaging.models.webhooks import WebhookEndpoint
from messaging.webhooks import endpoints as webhook_core

from .auth import current_actor
from .registry import operation
from .schemas import MAX_ID
from .webhook_schemas import WebhookCreatedOut, WebhookIn, WebhookListOut, WebhookOut


def _endpoint(webhook_id: int) -> WebhookEndpoint:
    if not 0 < webhook_id <= MAX_ID:
        raise NotFound(f"No webhook endpoint with id {webhook_id}.")
    return webhook_core.get_endpoint(webhook_id)


@operation("/webhooks", "POST", summary="Register a webhook endpoint", tag="webhooks", status=201,
           request_body=WebhookIn, response=WebhookCreatedOut, role="admin", errors=(403, 409, 422))
def create_webhook(body: WebhookIn) -> WebhookCreatedOut:
    """201 with the endpoint and its signing `secret`, which is never shown again. Each event is posted as
    `{"id", "type", "created_at", "data"}` with the headers `Sealed-Event-Id`, `Sealed-Timestamp` (Unix
    seconds) and `Sealed-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, at least once
    (de-duplicate on the event id). Audited."""
    registered = webhook_core.register_endpoint(current_actor(), body.url, body.events)
    db.session.commit()
    out = WebhookOut.model_validate(registered.endpoint).model_dump()
    return WebhookCreatedOut(**out, secret=registered.secret)


@operation("/webhooks", "GET", summary="List webhook endpoints", tag="webhooks", response=WebhookListOut,
           role="admin", errors=(403,))
def list_webhooks() -> WebhookListOut:
    """Every endpoint not deleted, oldest first (without secrets)."""
    answer = WebhookListOut(webhooks=[WebhookOut.model_validate(e) for e in webhook_core.live_endpoints()])
    db.session.rollback()
    return answer


@operation("/webhooks/<int:webhook_id>", "GET", summary="Read a webhook endpoint", tag="webhooks",
           response=WebhookOut, role="admin", errors=(403, 404))
def read_webhook(webhook_id: int) -> WebhookOut:
    """The endpoint (without its secret)."""
    answer = WebhookOut.model_validate(_endpoint(webhook_id))
    db.session.rollback()
    return answer


@operation("/webhooks/<int:webhook_id>", "DELETE", summary="Delete a webhook endpoint", tag="webhooks",
           status=204, role="admin", errors=(403, 404))
def delete_webhook(webhook_id: int) -> None:
    """204: nothing more is posted to it; its pending deliveries are cancelled. Audited."""
    webhook_core.delete_endpoint(current_actor(), _endpoint(webhook_id))
    db.session.commit()
