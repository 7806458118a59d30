"""What the provider later says about a send (Twilio status callbacks), applied to the delivery."""
from __future__ import annotations

from sqlalchemy import select

from messaging import clock
from messaging.db import db
from messaging.events import record_event
from messaging.models import Delivery
from messaging.policy.optout import PROVIDER_ACTOR, PROVIDER_OPT_OUT_CODES, mark_opted_out
from messaging.webhooks import emit

# Twilio message and call statuses → ours. Those not listed (queued, accepted, sending, sent,
# initiated, ringing, in-progress, ...) only tell us the provider has the send.
FINAL_STATUSES = {
    "delivered": "delivered", "read": "delivered", "completed": "delivered",
    "failed": "failed", "undelivered": "failed", "busy": "failed", "no-answer": "failed", "canceled": "failed",
}
PRIMARY_KINDS = ("notice", "content", "opt_out_confirmation")


def find_delivery(provider_id: str | None, key: str | None) -> Delivery | None:
    """By the provider's id, else by our idempotency key (carried in the callback URL)."""
    if provider_id:
        found = db.session.execute(select(Delivery).filter_by(provider_id=provider_id)).scalars().first()
        if found is not None:
            return found
    if key:
        return db.session.execute(select(Delivery).filter_by(idempotency_key=key)).scalar_one_or_none()
    return None


def sync_message_status(delivery: Delivery) -> None:
    """A message's status follows its notice (secure) or content (standard) delivery."""
    message = delivery.message
    if delivery.kind not in PRIMARY_KINDS or message.status in ("revoked", "cancelled", "suppressed"):
        return
    if delivery.status in ("sent", "delivered", "failed", "suppressed"):
        message.status = delivery.status


def record_provider_status(provider_id: str | None, status: str, error_code: str | None = None,
                           error_message: str | None = None, key: str | None = None) -> Delivery | None:
    """Apply one status report. Never moves a delivery backwards; commits nothing.

    A report that proves the provider accepted a send whose worker died before recording it
    attaches the provider id, so the engine marks that row sent instead of sending it again.
    """
    delivery = find_delivery(provider_id, key)
    if delivery is None:
        return None
    if provider_id and not delivery.provider_id:
        delivery.provider_id = provider_id
    outcome = FINAL_STATUSES.get((status or "").strip().lower())
    if outcome is None or delivery.status in ("delivered", "failed", "cancelled", "suppressed"):
        return delivery
    now = clock.utcnow()
    message = delivery.message
    if delivery.sent_at is None:
        delivery.sent_at = now
    delivery.lease_until = None
    if outcome == "delivered":
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.last_error = None
        record_event(message, "delivered", channel=delivery.channel, delivery=delivery.kind)
    else:
        code = str(error_code) if error_code not in (None, "") else None
        delivery.status = "failed"
        delivery.last_error = (f"Twilio error {code}: " if code else "") + (error_message or f"provider said {status}")
        record_event(message, "failed", channel=delivery.channel, delivery=delivery.kind, code=code,
                     error=delivery.last_error[:500])
        if code in PROVIDER_OPT_OUT_CODES:
            mark_opted_out(message.contact, source="provider", actor=PROVIDER_ACTOR, note=f"Twilio error {code}")
    sync_message_status(delivery)
    if delivery.kind in PRIMARY_KINDS:
        emit(f"message.{outcome}", message_id=message.public_id, contact_id=message.contact_id,
             status=message.status, channel=delivery.channel, mode=message.mode, delivery=delivery.kind,
             code=str(error_code) if outcome == "failed" and error_code not in (None, "") else None)
    return delivery
