"""Broadcasts: create a draft, read it with its live audience, send (now or at its time), pause, resume, cancel."""
from __future__ import annotations

from flask import request

from messaging.db import db
from messaging.errors import NotFound
from messaging.models import Broadcast
from messaging.outreach import broadcast_states
from messaging.outreach import broadcasts as broadcast_core

from .auth import current_actor
from .broadcast_schemas import PER_PAGE, BroadcastIn, BroadcastListOut, BroadcastOut, BroadcastSummaryOut
from .registry import operation
from .schemas import MAX_ID


def get_broadcast(broadcast_id: int) -> Broadcast:
    if not 0 < broadcast_id <= MAX_ID:
        raise NotFound(f"No broadcast with id {broadcast_id}.")
    return broadcast_core.get_broadcast(broadcast_id)


def broadcast_out(broadcast: Broadcast) -> BroadcastOut:
    return BroadcastOut.model_validate(broadcast_core.broadcast_view(broadcast))


def _answer(broadcast: Broadcast) -> BroadcastOut:
    """Commit what the core did, then read the broadcast as it now stands."""
    db.session.commit()
    return broadcast_out(broadcast)


@operation("/broadcasts", "POST", summary="Create a broadcast (a draft)", tag="broadcasts", status=201,
           request_body=BroadcastIn, response=BroadcastOut, errors=(409, 422))
def create_broadcast(body: BroadcastIn) -> BroadcastOut:
    """A draft: nothing is sent until `/send`. Answers the same shape as GET, with the audience counted now
    and the decision as every recipient would get it. Unknown segments, template or situation are a 422 on
    their field. The ladder decides as for a one-off, the broadcast's `mode`/`require_pin` at the one-off
    level; a decision the recommendation policy `block` refuses is 409 `blocked_by_policy` unless an admin key
    gives `override_reason` (audited); secure while the client portal is off is 409 `portal_disabled`."""
    broadcast = broadcast_core.create_broadcast(
        current_actor(), name=body.name, segment_ids=body.segment_ids, template_slug=body.template,
        situation_key=body.situation, mode=body.mode, require_pin=body.require_pin, send_at=body.send_at,
        override_reason=body.override_reason)
    return _answer(broadcast)


@operation("/broadcasts", "GET", summary="List broadcasts", tag="broadcasts", response=BroadcastListOut)
def list_broadcasts() -> BroadcastListOut:
    """Newest first, 50 a page: `?page=N` (from 1; a page past the end answers the last page)."""
    page = broadcast_core.list_broadcasts(request.args.get("page", 1, type=int), per_page=PER_PAGE)
    return BroadcastListOut(
        broadcasts=[BroadcastSummaryOut(id=b.id, name=b.name, status=b.status, template=b.template.slug,
                                        send_at=b.send_at, created_at=b.created_at,
                                        to_send=(b.audience or {}).get("to_send"))
                    for b in page.items],
        page=page.page, pages=page.pages, per_page=page.per_page, total=page.total)


@operation("/broadcasts/<int:broadcast_id>", "GET", summary="Read a broadcast", tag="broadcasts",
           response=BroadcastOut, errors=(404,))
def read_broadcast(broadcast_id: int) -> BroadcastOut:
    """Status, audience (live for a draft or a scheduled broadcast not yet fanned out, frozen from `/send`),
    decision and progress (messages by status; `opened`, `verified`, `viewed`, `replied`: messages with at
    least one such event)."""
    answer = broadcast_out(get_broadcast(broadcast_id))
    db.session.rollback()  # reading writes nothing, not even a settings row created on first use
    return answer


@operation("/broadcasts/<int:broadcast_id>/send", "POST", summary="Send a broadcast", tag="broadcasts",
           status=202, response=BroadcastOut, errors=(404, 409))
def send_broadcast(broadcast_id: int) -> BroadcastOut:
    """Freezes the audience and starts the fan-out: 202 with status `sending`, or `scheduled` when the
    broadcast has a `send_at` in the future. The scheduler (or `flask --app wsgi deliver`) queues the
    messages in batches; read the broadcast to follow `progress`. Only a draft can be sent: otherwise
    409 `invalid_state`. Audited."""
    broadcast = get_broadcast(broadcast_id)
    broadcast_states.send_broadcast(current_actor(), broadcast)
    return _answer(broadcast)


@operation("/broadcasts/<int:broadcast_id>/pause", "POST", summary="Pause a broadcast", tag="broadcasts",
           response=BroadcastOut, errors=(404, 409))
def pause_broadcast(broadcast_id: int) -> BroadcastOut:
    """Stops the fan-out and holds every queued delivery back from the workers (status `paused`); what was
    already sent stays sent. From `scheduled` or `sending` only: otherwise 409 `invalid_state`. Audited."""
    broadcast = get_broadcast(broadcast_id)
    broadcast_states.pause_broadcast(current_actor(), broadcast)
    return _answer(broadcast)


@operation("/broadcasts/<int:broadcast_id>/resume", "POST", summary="Resume a paused broadcast",
           tag="broadcasts", response=BroadcastOut, errors=(404, 409))
def resume_broadcast(broadcast_id: int) -> BroadcastOut:
    """The held deliveries are queued again and the fan-out goes on where it stopped, nobody twice. From
    `paused` only: otherwise 409 `invalid_state`. Audited."""
    broadcast = get_broadcast(broadcast_id)
    broadcast_states.resume_broadcast(current_actor(), broadcast)
    return _answer(broadcast)


@operation("/broadcasts/<int:broadcast_id>/cancel", "POST", summary="Cancel a broadcast", tag="broadcasts",
           response=BroadcastOut, errors=(404, 409))
def cancel_broadcast(broadcast_id: int) -> BroadcastOut:
    """Nothing more is sent: the fan-out stops and messages not yet sent are cancelled (status `cancelled`).
    Not from `sent` or `cancelled`: 409 `invalid_state`. Audited."""
    broadcast = get_broadcast(broadcast_id)
    broadcast_states.cancel_broadcast(current_actor(), broadcast)
    return _answer(broadcast)
