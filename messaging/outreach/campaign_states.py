"""A campaign's moves — activate, pause, resume, archive — and enrolling its segment's contacts.

draft → active (enrols the segment) ⇄ paused; any of them → archived, which ends it. Each move is
one conditional UPDATE on the statuses it may start from, so two people pressing the same button
move it once, and a move not allowed from the current status is a Conflict ``invalid_state``.
Pausing keeps every contact's place and holds the campaign's queued deliveries (no claim picks a
``paused`` delivery); resuming releases them. Archiving cancels whatever has not gone out. Every
move is audited; nothing here commits.

Enrolling is one ``INSERT … SELECT`` over the segment's SQL condition, never a list of ids in
Python: a contact already enrolled is left out by ``NOT EXISTS``, and the unique key
(campaign, contact) stops the rare race of two enrolments at once (an IntegrityError the caller
rolls back).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, literal, or_, select, update

from messaging import clock
from messaging.audience.segment_sql import rule_condition
from messaging.audience.segments import rule_clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.models import Campaign, CampaignEnrolment, CampaignStep, Contact, Message, Segment
from messaging.outreach.campaigns import sample_contact_of, step_decision
from messaging.outreach.queueing import cancel_unsent, hold_deliveries, release_held
from messaging.outreach.status_moves import move_status

MOVES = {
    "activate": (("draft",), "active"),
    "pause": (("active",), "paused"),
    "resume": (("paused",), "active"),
    "archive": (("draft", "active", "paused"), "archived"),
}
PAST = {"activate": "activated", "pause": "paused", "resume": "resumed", "archive": "archived"}
RECHECK_EVERY = timedelta(days=1)


def _move(campaign: Campaign, action: str) -> dict:
    allowed, to = MOVES[action]
    change = move_status(campaign, allowed, to)
    if change is None:
        raise Conflict(f"A campaign that is {campaign.status} cannot be {PAST[action]} "
                       f"(only a {' or '.join(allowed)} one).", code="invalid_state")
    return change


def step_messages(campaign: Campaign):
    """SQL: the messages of the campaign's steps."""
    return Message.campaign_step_id.in_(select(CampaignStep.id).where(CampaignStep.campaign_id == campaign.id))


def segment_condition(campaign: Campaign):
    """The campaign's segment as a SQL condition on contact; ValidationFailed when its rule no longer checks."""
    segment = db.session.get(Segment, campaign.segment_id)
    if segment is None:
        raise ValidationFailed("The campaign's segment no longer exists.", {"segment_id": "no such segment"})
    return rule_condition(segment.rule, rule_clock())


def count_matching_now(campaign: Campaign) -> int:
    """How many contacts the segment matches now (0 when its rule no longer checks)."""
    try:
        condition = segment_condition(campaign)
    except ValidationFailed:
        return 0
    return db.session.execute(select(func.count()).select_from(Contact).where(condition)).scalar_one()


def enrol_matching(campaign: Campaign, now: datetime) -> int:
    """Enrol every contact the segment matches now that is not enrolled yet; how many were."""
    already = exists().where(CampaignEnrolment.campaign_id == campaign.id, CampaignEnrolment.contact_id == Contact.id)
    chosen = select(literal(campaign.id), Contact.id, literal(1), literal("active"),
                    literal(now, CampaignEnrolment.enrolled_at.type)).where(segment_condition(campaign), ~already)
    inserted = db.session.execute(insert(CampaignEnrolment).from_select(
        ["campaign_id", "contact_id", "step", "state", "enrolled_at"], chosen)
        .execution_options(preserve_rowcount=True)).rowcount
    campaign.last_enrolled_at = now
    return max(inserted or 0, 0)


def claim_recheck(campaign_id: int, now: datetime) -> bool:
    """Whether this worker enrols the newcomers of a ``recheck_daily`` campaign now: at most once a day.

    One conditional UPDATE moves ``last_enrolled_at``; of two workers only one sees its row changed
    (on PostgreSQL the second waits for the first's commit, then finds the condition false).
    """
    due = or_(Campaign.last_enrolled_at.is_(None), Campaign.last_enrolled_at <= now - RECHECK_EVERY)
    return bool(db.session.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "active",
                               Campaign.recheck_daily.is_(True), due)
        .values(last_enrolled_at=now).execution_options(synchronize_session=False)).rowcount)


def _check_policy_still_allows(campaign: Campaign) -> None:
    """Settings may have changed since the campaign was created: a step blocked now, without the
    admin's override given at creation, is refused before anything goes out."""
    contact = sample_contact_of(campaign)
    for step in campaign.steps:
        decision = step_decision(campaign, step, contact)
        if "portal_disabled" in decision.blocked_by:
            raise Conflict(f"Step {step.position} is secure, and secure messages need the client portal, which is "
                           "turned off.", code="portal_disabled")
        if decision.blocked and not campaign.override_reason:
            raise PolicyRefused(
                f"Step {step.position} is blocked by policy: "
                + "; ".join(w.message for w in decision.warnings if w.code in decision.blocked_by)
                + " Change the step's mode, or have an admin create the campaign with an override reason.")


def activate_campaign(actor: Actor, campaign: Campaign) -> Campaign:
    """Start it: enrol every contact of the segment now; the next pass queues the steps that are due."""
    if campaign.status == "draft":
        segment_condition(campaign)  # a segment whose rule no longer checks cannot enrol anyone
        _check_policy_still_allows(campaign)
    change = _move(campaign, "activate")
    now = clock.utcnow()
    campaign.activated_at = now
    enrolled = enrol_matching(campaign, now)
    audit(actor, "campaign.activate", "campaign", campaign.id, enrolled=enrolled, **change)
    return campaign


def pause_campaign(actor: Actor, campaign: Campaign) -> Campaign:
    """Stop: nothing more is queued, queued deliveries are held; every contact keeps its place."""
    change = _move(campaign, "pause")
    held = hold_deliveries(step_messages(campaign))
    audit(actor, "campaign.pause", "campaign", campaign.id, held=held, **change)
    return campaign


def resume_campaign(actor: Actor, campaign: Campaign) -> Campaign:
    """Go on where each contact stood: held deliveries are queued again, due steps go at the next pass."""
    change = _move(campaign, "resume")
    released = release_held(step_messages(campaign))
    audit(actor, "campaign.resume", "campaign", campaign.id, released=released, **change)
    return campaign


def archive_campaign(actor: Actor, campaign: Campaign) -> Campaign:
    """End it for good: no step is queued again, and what has not gone out is cancelled."""
    change = _move(campaign, "archive")
    cancelled = cancel_unsent(step_messages(campaign), clock.utcnow())
    audit(actor, "campaign.archive", "campaign", campaign.id, cancelled_messages=cancelled, **change)
    return campaign


ACTIONS = {"activate": activate_campaign, "pause": pause_campaign, "resume": resume_campaign,
           "archive": archive_campaign}
