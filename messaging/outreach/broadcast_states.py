"""A broadcast's moves: send (which freezes its audience), pause, resume, cancel — and its lists.

draft → sending (or scheduled, with ``send_at``) → sent; sending/scheduled ⇄ paused; anything not
yet sent → cancelled. Each move is one conditional UPDATE on the status it starts from, so two
people pressing "send" at once freeze one audience, and a move from a status that does not allow
it is a Conflict ``invalid_state``. Every move is audited; nothing here commits.
"""
from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict
from messaging.models import Broadcast, BroadcastRecipient, Contact, Delivery, Message
from messaging.outreach.broadcast_audience import take_snapshot
from messaging.outreach.broadcasts import current_decision, decision_view, level_of
from messaging.outreach.deciding import check_bulk_policy
from messaging.outreach.queueing import cancel_unsent, hold_deliveries, release_held
from messaging.outreach.recipients import SUPPRESSED_OUTCOMES, needs_marketing, outcome_reason
from messaging.outreach.status_moves import move_status
from messaging.paging import Page, fetch_page, page_number

MOVES = {
    "send": ("draft",),
    "pause": ("sending", "scheduled"),
    "resume": ("paused",),
    "cancel": ("draft", "scheduled", "sending", "paused"),
}


def _move(broadcast: Broadcast, action: str, to: str) -> dict:
    allowed = MOVES[action]
    change = move_status(broadcast, allowed, to)
    if change is None:
        raise Conflict(f"A {broadcast.status} broadcast cannot be {'sent' if action == 'send' else action + 'd'}"
                       f" (only a {' or '.join(allowed)} one).", code="invalid_state")
    return change


def _scheduled_ahead(broadcast: Broadcast) -> bool:
    return broadcast.send_at is not None and broadcast.send_at > clock.utcnow()


def send_broadcast(actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Freeze the audience and the decision, then hand the broadcast to the fan-out (now or at send_at)."""
    decision = current_decision(broadcast)
    if broadcast.status == "draft":
        # An override accepted when an admin created the broadcast stands for whoever sends it.
        sender = actor if broadcast.override_reason is None or actor.is_admin else \
            dataclasses.replace(actor, role="admin")
        check_bulk_policy(broadcast.template, broadcast.situation, level_of(broadcast), decision, sender,
                          broadcast.override_reason)
    change = _move(broadcast, "send", "scheduled" if _scheduled_ahead(broadcast) else "sending")
    now = clock.utcnow()
    broadcast.audience = take_snapshot(broadcast, now)
    broadcast.decision = decision_view(decision)
    broadcast.sent_requested_at = now
    audit(actor, "broadcast.send", "broadcast", broadcast.id, status=broadcast.status,
          to_send=broadcast.audience["to_send"], matched=broadcast.audience["matched"], mode=decision.mode,
          **change)
    return broadcast


def pause_broadcast(actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Stop queueing, and hold what is queued: no claim picks a paused delivery."""
    change = _move(broadcast, "pause", "paused")
    held = hold_deliveries(Message.broadcast_id == broadcast.id)
    audit(actor, "broadcast.pause", "broadcast", broadcast.id, held=held, **change)
    return broadcast


def resume_broadcast(actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Go on where it stopped: held deliveries are queued again and the fan-out continues."""
    started = db.session.execute(
        select(func.count(Message.id)).where(Message.broadcast_id == broadcast.id)).scalar_one()
    change = _move(broadcast, "resume", "scheduled" if _scheduled_ahead(broadcast) and not started else "sending")
    released = release_held(Message.broadcast_id == broadcast.id)
    audit(actor, "broadcast.resume", "broadcast", broadcast.id, released=released, **change)
    return broadcast


def cancel_broadcast(actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Nothing more goes out: recipients not yet queued never will be, unsent messages are cancelled."""
    change = _move(broadcast, "cancel", "cancelled")
    cancelled = cancel_unsent(Message.broadcast_id == broadcast.id, clock.utcnow())
    broadcast.finished_at = clock.utcnow()
    audit(actor, "broadcast.cancel", "broadcast", broadcast.id, cancelled_messages=cancelled,
          **change)
    return broadcast


def suppressed_recipients(broadcast: Broadcast, page: int | None, per_page: int = 50) -> Page:
    """The contacts not sent to, each as (contact, outcome, reason), by name."""
    where = (BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.outcome.in_(SUPPRESSED_OUTCOMES))
    query = (select(Contact, BroadcastRecipient.outcome)
             .join(BroadcastRecipient, BroadcastRecipient.contact_id == Contact.id).where(*where)
             .order_by(Contact.last_name, Contact.first_name, Contact.id))
    total = db.session.execute(select(func.count()).select_from(BroadcastRecipient).where(*where)).scalar_one()
    number = page_number(page, total, per_page)
    rows = db.session.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
    channel = broadcast.template.channel
    marketing = needs_marketing(broadcast.situation or broadcast.template.situation)
    items = [(contact, outcome, outcome_reason(outcome, channel, marketing)) for contact, outcome in rows]
    return Page(items=items, total=total, page=number, per_page=per_page)


def failed_deliveries(broadcast: Broadcast, page: int | None, per_page: int = 50) -> Page:
    """The broadcast's deliveries that failed for good (each with its message and contact), oldest first."""
    where = (Message.broadcast_id == broadcast.id, Delivery.status == "failed")
    return fetch_page(select(Delivery).join(Message, Delivery.message_id == Message.id).where(*where)
                      .order_by(Delivery.id),
                      select(func.count(Delivery.id)).join(Message, Delivery.message_id == Message.id).where(*where),
                      page, per_page)
