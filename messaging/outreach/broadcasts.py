"""Broadcasts: create one, read it back with its audience, decision and progress.

A draft's audience and decision are live (worked out each time they are read); ``/send``
freezes both (``broadcast_states.send_broadcast``). Like every core call made for a request,
nothing here commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.messages import MessageRequest, Preview, preview_message, send_at_problem
from messaging.models import LEVEL_MODES, Broadcast, BroadcastRecipient, Contact, Message, Situation, Template
from messaging.outreach.broadcast_audience import frozen_counts, live_counts, segment_conditions
from messaging.outreach.deciding import BulkLevel, bulk_decision, check_bulk_policy, request_for
from messaging.outreach.queueing import progress_counts
from messaging.paging import Page, fetch_page
from messaging.policy.decision import Decision

MAX_NAME_LENGTH = 200
MAX_SEGMENTS = 20
MAX_REASON_LENGTH = 1000
PREVIEW_ADDRESSES = {"email": "client@example.invalid", "sms": "+15555550100", "voice": "+15555550100"}


def level_of(broadcast: Broadcast) -> BulkLevel:
    """The broadcast's override, at the one-off level of the ladder."""
    return BulkLevel(broadcast.mode, broadcast.require_pin, label=f"broadcast '{broadcast.name}'")


def _check(name, segment_ids, template_slug, situation_key, mode, send_at, override_reason,
           errors: dict) -> tuple[Template | None, Situation | None]:
    name = (name or "").strip()
    if not name:
        errors["name"] = "give the broadcast a name"
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"must be at most {MAX_NAME_LENGTH} characters"
    elif db.session.execute(select(Broadcast.id).filter_by(name=name)).first():
        errors["name"] = "another broadcast has this name"
    if not segment_ids:
        errors["segment_ids"] = "choose at least one segment"
    elif len(segment_ids) > MAX_SEGMENTS:
        errors["segment_ids"] = f"at most {MAX_SEGMENTS} segments"
    elif len(set(segment_ids)) != len(segment_ids):
        errors["segment_ids"] = "a segment is listed twice"
    else:
        try:
            segment_conditions(list(segment_ids))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    template = db.session.execute(select(Template).filter_by(slug=template_slug)).scalar_one_or_none() \
        if template_slug else None
    if template is None:
        errors["template"] = f"no template with slug '{template_slug}'" if template_slug else "choose a template"
    situation = None
    if situation_key:
        situation = db.session.execute(select(Situation).filter_by(key=situation_key)).scalar_one_or_none()
        if situation is None:
            errors["situation"] = f"no situation with key '{situation_key}'"
    if mode not in LEVEL_MODES:
        errors["mode"] = "must be inherit, secure or standard"
    if send_at_problem(send_at):
        errors["send_at"] = send_at_problem(send_at)
    if override_reason and len(override_reason.strip()) > MAX_REASON_LENGTH:
        errors["override_reason"] = f"must be at most {MAX_REASON_LENGTH} characters"
    return template, situation


def create_broadcast(actor: Actor, *, name, segment_ids, template_slug, situation_key=None, mode="inherit",
                     require_pin: bool | None = None, send_at: datetime | None = None,
                     override_reason: str | None = None) -> Broadcast:
    """A draft broadcast. ValidationFailed names each bad field; a send the policy blocks is refused
    here already (PolicyRefused) unless an admin gives a reason, which is audited."""
    errors: dict[str, str] = {}
    template, situation = _check(name, segment_ids, template_slug, situation_key, mode, send_at, override_reason,
                                 errors)
    if errors:
        raise ValidationFailed("The broadcast cannot be created as it is.", errors)
    broadcast = Broadcast(name=name.strip(), segment_ids=list(segment_ids), template=template, situation=situation,
                          mode=mode, require_pin=require_pin, send_at=send_at,
                          override_reason=(override_reason or "").strip() or None,
                          created_by_id=actor.user_id, api_key_id=actor.api_key_id, created_at=clock.utcnow())
    decision = current_decision(broadcast)
    check_bulk_policy(template, situation, level_of(broadcast), decision, actor, broadcast.override_reason)
    if not decision.blocked:
        broadcast.override_reason = None  # nothing was overridden: no reason to keep
    db.session.add(broadcast)
    db.session.flush()
    if decision.blocked:
        audit(actor, "broadcast.policy_override", "broadcast", broadcast.id, reason=broadcast.override_reason,
              blocked_by=list(decision.blocked_by))
    audit(actor, "broadcast.create", "broadcast", broadcast.id, name=broadcast.name, segment_ids=broadcast.segment_ids,
          template=template.slug, mode=mode)
    return broadcast


def get_broadcast(broadcast_id: int) -> Broadcast:
    """The broadcast with this id; NotFound when there is none."""
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"No broadcast with id {broadcast_id}.")
    return broadcast


def list_broadcasts(page: int | None, per_page: int = 25) -> Page:
    """One page of broadcasts, newest first."""
    return fetch_page(select(Broadcast).order_by(Broadcast.id.desc()), select(func.count(Broadcast.id)), page,
                      per_page)


def first_contact(broadcast: Broadcast) -> Contact | None:
    """The recipient the decision and the preview are shown for: the first to be sent to."""
    if broadcast.audience is not None:
        return db.session.execute(
            select(Contact).join(BroadcastRecipient, BroadcastRecipient.contact_id == Contact.id)
            .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.outcome == "to_send")
            .order_by(Contact.id).limit(1)).scalar_one_or_none()
    try:
        conditions = segment_conditions(broadcast.segment_ids)
    except ValidationFailed:
        return None
    for _, condition in conditions:
        contact = db.session.execute(
            select(Contact).where(condition).order_by(Contact.id).limit(1)).scalar_one_or_none()
        if contact is not None:
            return contact
    return None


def current_decision(broadcast: Broadcast) -> Decision:
    """The decision as it would apply now, for the first recipient."""
    return bulk_decision(broadcast.template, broadcast.situation, level_of(broadcast), first_contact(broadcast))


def decision_view(decision: Decision) -> dict:
    """The preview's fields of a decision, with ``blocked``."""
    return {**decision.as_dict(), "blocked": decision.blocked}


def client_preview(broadcast: Broadcast) -> Preview:
    """What the client receives, rendered by the composer's renderer for the first recipient."""
    contact = first_contact(broadcast)
    if contact is None or not (contact.email if broadcast.template.channel == "email" else contact.phone):
        contact = Contact(first_name=(contact.first_name if contact else ""), last_name="", form_data={}, tags=[],
                          email=PREVIEW_ADDRESSES["email"], phone=PREVIEW_ADDRESSES["sms"])
    request: MessageRequest = request_for(contact, broadcast.template, broadcast.situation, level_of(broadcast))
    return preview_message(request)


def broadcast_view(broadcast: Broadcast) -> dict:
    """The broadcast as the API's GET returns it."""
    now = clock.utcnow()
    if broadcast.audience is None:
        try:
            audience = live_counts(broadcast, now)
        except ValidationFailed:
            audience = {"matched": 0, "duplicates": 0, "opted_out": 0, "no_consent": 0, "unreachable": 0,
                        "frequency_capped": 0, "to_send": 0}
    else:
        audience = frozen_counts(broadcast)
    decision = broadcast.decision if broadcast.decision is not None else decision_view(current_decision(broadcast))
    return {
        "id": broadcast.id, "name": broadcast.name, "status": broadcast.status,
        "segment_ids": list(broadcast.segment_ids), "template": broadcast.template.slug,
        "situation": (broadcast.situation or broadcast.template.situation).key
        if (broadcast.situation or broadcast.template.situation) else None,
        "mode": broadcast.mode, "require_pin": broadcast.require_pin, "send_at": broadcast.send_at,
        "created_at": broadcast.created_at, "audience": audience, "decision": decision,
        "progress": progress_counts(Message.broadcast_id == broadcast.id),
    }
