"""Request and response bodies of the webhook operations (they feed the OpenAPI document like api/schemas.py)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from messaging.models.webhooks import WEBHOOK_EVENT_TYPES

from .schemas import Body, Out, UtcDateTime

EVENTS_DESCRIPTION = "Event types to receive, at least one of: " + ", ".join(f"`{t}`" for t in WEBHOOK_EVENT_TYPES)


class WebhookIn(Body):
    """An endpoint to register. Unknown fields → 422."""

    url: str = Field(description=(
        "Where events are posted: https only; a host that is or resolves to a loopback, private or link-local "
        "address is refused (422 on `url`) unless the server runs with `WEBHOOK_ALLOW_PRIVATE=1`."))
    events: list[str] = Field(description=EVENTS_DESCRIPTION + "; an unknown type is a 422 on `events`.")


class WebhookOut(Out):
    """A registered endpoint (its secret is never shown again)."""

    id: int
    url: str
    events: list[str]
    created_at: UtcDateTime
    created_by: str


class WebhookCreatedOut(WebhookOut):
    """The endpoint just registered, with its signing secret: shown this once, store it now."""

    secret: str = Field(description="The signing secret (`whsec_…`): `Sealed-Signature` is "
                                    "`v1=` + hex HMAC-SHA256(secret, timestamp + \".\" + body).")


class WebhookListOut(BaseModel):
    """Every live endpoint, oldest first."""

    webhooks: list[WebhookOut]
