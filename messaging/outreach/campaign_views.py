"""A campaign read back: its enrolment counts, each step's decision and funnel, its enrolments page by page.

The funnel of a step counts its messages by their current status (``queued`` includes
``scheduled``) and the messages with at least one event of a kind (``opened`` = ``link_opened``),
as a broadcast's progress does; ``suppressed`` adds the step runs that made no message (opted out
of marketing, unreachable, frequency capped, blocked by policy) to the suppressed messages, and
``skipped`` counts the runs a field-relative delay skipped.
"""
from __future__ import annotations

from sqlalchemy import func, select

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import EXIT_REASONS, Campaign, CampaignEnrolment, CampaignStep, CampaignStepRun, Message
from messaging.outreach.broadcasts import decision_view
from messaging.outreach.campaigns import sample_contact_of, step_decision
from messaging.outreach.queueing import progress_counts
from messaging.paging import Page, page_number

FUNNEL_KEYS = ("queued", "sent", "delivered", "failed", "suppressed", "skipped", "opened", "verified", "viewed",
               "replied")
ENROLMENTS_PER_PAGE = 100


def enrolment_counts(campaign: Campaign) -> dict:
    """``enrolled``, ``active``, ``completed`` and ``exited`` by reason."""
    rows = db.session.execute(
        select(CampaignEnrolment.state, CampaignEnrolment.exit_reason, func.count())
        .where(CampaignEnrolment.campaign_id == campaign.id)
        .group_by(CampaignEnrolment.state, CampaignEnrolment.exit_reason)).all()
    counts = {"enrolled": 0, "active": 0, "completed": 0, "exited": dict.fromkeys(EXIT_REASONS, 0)}
    for state, reason, count in rows:
        counts["enrolled"] += count
        if state == "exited":
            counts["exited"][reason] = counts["exited"].get(reason, 0) + count
        elif state in ("active", "completed"):
            counts[state] += count
    return counts


def step_runs(campaign: Campaign) -> dict[tuple[int, str], int]:
    """How many step runs of each (step id, outcome) the campaign has."""
    return {(step_id, outcome): count for step_id, outcome, count in db.session.execute(
        select(CampaignStepRun.step_id, CampaignStepRun.outcome, func.count())
        .join(CampaignStep, CampaignStep.id == CampaignStepRun.step_id)
        .where(CampaignStep.campaign_id == campaign.id)
        .group_by(CampaignStepRun.step_id, CampaignStepRun.outcome))}


def step_funnel(step: CampaignStep, runs: dict[tuple[int, str], int]) -> dict[str, int]:
    """The step's funnel (see the module docstring)."""
    counts = progress_counts(Message.campaign_step_id == step.id)
    counts["suppressed"] += runs.get((step.id, "suppressed"), 0)
    counts["skipped"] = runs.get((step.id, "skipped"), 0)
    return {key: counts.get(key, 0) for key in FUNNEL_KEYS}


def campaign_view(campaign: Campaign) -> dict:
    """The campaign as the API's GET returns it (the issue's contract, plus what it was created with)."""
    runs = step_runs(campaign)
    contact = sample_contact_of(campaign)
    steps = []
    for step in campaign.steps:
        try:
            decision = decision_view(step_decision(campaign, step, contact))
        except ValidationFailed:  # a template that no longer renders: shown, not decided
            decision = None
        steps.append({"position": step.position, "template": step.template.slug, "channel": step.template.channel,
                      "mode": step.mode, "require_pin": step.require_pin, "delay": dict(step.delay),
                      "decision": decision, "funnel": step_funnel(step, runs)})
    situation = campaign.situation
    return {"id": campaign.id, "name": campaign.name, "status": campaign.status, "segment_id": campaign.segment_id,
            "situation": situation.key if situation else None, "mode": campaign.mode,
            "require_pin": campaign.require_pin, "recheck_daily": campaign.recheck_daily,
            "exit_on": list(campaign.exit_on or []), "created_at": campaign.created_at,
            "activated_at": campaign.activated_at, **enrolment_counts(campaign), "steps": steps}


def enrolments_page(campaign: Campaign, *, contact_id: int | None = None, state: str | None = None,
                    page: int | None = None, per_page: int = ENROLMENTS_PER_PAGE) -> Page:
    """The campaign's enrolments, oldest first (only ``contact_id``'s, or those in ``state``, when given)."""
    where = [CampaignEnrolment.campaign_id == campaign.id]
    if contact_id is not None:
        where.append(CampaignEnrolment.contact_id == contact_id)
    if state:
        where.append(CampaignEnrolment.state == state)
    total = db.session.execute(select(func.count()).select_from(CampaignEnrolment).where(*where)).scalar_one()
    number = page_number(page, total, per_page)
    items = list(db.session.execute(select(CampaignEnrolment).where(*where).order_by(CampaignEnrolment.id)
                                    .limit(per_page).offset((number - 1) * per_page)).scalars())
    return Page(items=items, total=total, page=number, per_page=per_page)


def enrolment_view(enrolment: CampaignEnrolment) -> dict:
    """One enrolment as the API lists it."""
    return {"contact_id": enrolment.contact_id, "step": enrolment.step, "state": enrolment.state,
            "exit_reason": enrolment.exit_reason, "next_due_at": enrolment.next_due_at}
