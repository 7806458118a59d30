"""Registering, listing and deleting webhook endpoints, and reading their delivery logs.

The signing secret is generated here, returned once to whoever registered the endpoint and
stored sealed under the master keys (the dispatcher must read it back to sign).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound, ValidationFailed
from messaging.models.webhooks import WEBHOOK_EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.paging import fetch_page
from messaging.security.crypto import keyring
from messaging.webhooks.events import forget_subscriptions
from messaging.webhooks.urls import check_url

MAX_ENDPOINTS = 50  # live endpoints; each event is one delivery per endpoint
LOG_PER_PAGE = 50
# Deliveries still to go: deleting their endpoint cancels them.
PENDING = ("queued", "delivering")


@dataclass(frozen=True)
class Registered:
    """A new endpoint and its signing secret (the only time the secret is shown)."""

    endpoint: WebhookEndpoint
    secret: str


def check_events(events) -> list[str]:
    """The chosen event types, de-duplicated in the documented order; ValidationFailed on ``events`` otherwise."""
    if not isinstance(events, list | tuple) or not events:
        raise ValidationFailed("Choose at least one event type.", {"events": "must name at least one event type"})
    unknown = sorted({str(name) for name in events} - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        message = f"unknown event type {', '.join(unknown)}; known: {', '.join(WEBHOOK_EVENT_TYPES)}"
        raise ValidationFailed(f"The event types are not valid: {message}.", {"events": message})
    return [name for name in WEBHOOK_EVENT_TYPES if name in set(events)]


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, unsealed."""
    return keyring().unseal(endpoint.secret_ciphertext)["secret"]


def register_endpoint(actor: Actor, url: str, events) -> Registered:
    """A new endpoint for ``events`` at ``url`` (checked: https, public host), audited; the caller commits."""
    url = check_url(url)
    chosen = check_events(events)
    live = db.session.execute(select(func.count()).select_from(WebhookEndpoint)
                              .where(WebhookEndpoint.deleted_at.is_(None))).scalar_one()
    if live >= MAX_ENDPOINTS:
        raise Conflict(f"At most {MAX_ENDPOINTS} webhook endpoints can be registered; delete one first.",
                       code="too_many_endpoints")
    secret = "whsec_" + secrets.token_hex(32)
    endpoint = WebhookEndpoint(url=url, events=chosen, secret_ciphertext=keyring().seal({"secret": secret}),
                               created_by=actor.label[:254], created_at=clock.utcnow())
    db.session.add(endpoint)
    db.session.flush()
    forget_subscriptions()
    audit(actor, "webhook.create", "webhook_endpoint", endpoint.id, url=url, events=chosen)
    return Registered(endpoint=endpoint, secret=secret)


def live_endpoints() -> list[WebhookEndpoint]:
    """The endpoints not deleted, oldest first."""
    return list(db.session.execute(select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
                                   .order_by(WebhookEndpoint.id)).scalars())


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """A live endpoint, or NotFound."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def get_delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """One delivery of ``endpoint``, or NotFound."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery {delivery_id} for this webhook endpoint.")
    return delivery


def delete_endpoint(actor: Actor, endpoint: WebhookEndpoint) -> int:
    """Stop posting to ``endpoint``: marked deleted, its pending deliveries cancelled, audited.

    Returns how many deliveries were cancelled; the caller commits. Its log stays.
    """
    endpoint.deleted_at = clock.utcnow()
    forget_subscriptions()
    cancelled = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                      WebhookDelivery.status.in_(PENDING))
        .values(status="cancelled", lease_until=None).execution_options(synchronize_session=False)).rowcount
    audit(actor, "webhook.delete", "webhook_endpoint", endpoint.id, url=endpoint.url, cancelled=cancelled)
    return cancelled


def delivery_log(endpoint: WebhookEndpoint, page: int | None = None, per_page: int = LOG_PER_PAGE):
    """One page of the endpoint's deliveries, newest first (each with its event)."""
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .order_by(WebhookDelivery.id.desc()))
    count = select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return fetch_page(query, count, page, per_page)


def attempts_of(delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """The attempts of some deliveries, oldest first, by delivery id."""
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for attempt in db.session.execute(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                                          .order_by(WebhookAttempt.id)).scalars():
            found[attempt.delivery_id].append(attempt)
    return found
