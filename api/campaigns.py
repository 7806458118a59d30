"""Campaigns: create a draft, read it with each step's decision and funnel, activate, pause, resume, archive,
and list its enrolments."""
from __future__ import annotations

from flask import request

from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.models import ENROLMENT_STATES, Campaign
from messaging.outreach import campaign_states
from messaging.outreach import campaigns as campaign_core
from messaging.outreach.campaign_views import ENROLMENTS_PER_PAGE, campaign_view, enrolment_view, enrolments_page

from .auth import current_actor
from .campaign_schemas import CampaignIn, CampaignOut, EnrolmentListOut, EnrolmentOut
from .registry import operation
from .schemas import MAX_ID


def get_campaign(campaign_id: int) -> Campaign:
    if not 0 < campaign_id <= MAX_ID:
        raise NotFound(f"No campaign with id {campaign_id}.")
    return campaign_core.get_campaign(campaign_id)


def _answer(campaign: Campaign) -> CampaignOut:
    """Commit what the core did, then read the campaign as it now stands."""
    db.session.commit()
    return CampaignOut.model_validate(campaign_view(campaign))


@operation("/campaigns", "POST", summary="Create a campaign (a draft)", tag="campaigns", status=201,
           request_body=CampaignIn, response=CampaignOut, errors=(409, 422))
def create_campaign(body: CampaignIn) -> CampaignOut:
    """A draft with its ordered steps; nobody is enrolled until `/activate`. Answers the same shape as GET,
    each step with its decision as it will apply: the step's `mode`/`require_pin`, else the campaign's, sit at
    the campaign_step level of the ladder (reason "secure — set by campaign 'NAME' step N"), then the template,
    then the global default. Unknown segment, template or situation and bad delays are a 422 naming the field
    (`steps.1.delay.minutes`). A step the recommendation policy `block` refuses is 409 `blocked_by_policy` unless
    an admin key gives `override_reason` (audited); secure while the portal is off is 409 `portal_disabled`."""
    campaign = campaign_core.create_campaign(
        current_actor(), name=body.name, segment_id=body.segment_id, situation_key=body.situation, mode=body.mode,
        require_pin=body.require_pin, recheck_daily=body.recheck_daily, exit_on=list(body.exit_on),
        override_reason=body.override_reason, steps=[step.model_dump() for step in body.steps])
    return _answer(campaign)


@operation("/campaigns/<int:campaign_id>", "GET", summary="Read a campaign", tag="campaigns", response=CampaignOut,
           errors=(404,))
def read_campaign(campaign_id: int) -> CampaignOut:
    """Status; `enrolled`, `active`, `completed` and `exited` by reason (reply, view, opt_out, leave_segment);
    each step's decision and funnel (messages by current status; `suppressed` and `skipped` step runs; `opened`,
    `verified`, `viewed`, `replied`: messages with at least one such event)."""
    answer = CampaignOut.model_validate(campaign_view(get_campaign(campaign_id)))
    db.session.rollback()  # reading writes nothing, not even a settings row created on first use
    return answer


def _move(campaign_id: int, action: str) -> CampaignOut:
    campaign = get_campaign(campaign_id)
    campaign_states.ACTIONS[action](current_actor(), campaign)
    return _answer(campaign)


@operation("/campaigns/<int:campaign_id>/activate", "POST", summary="Activate a campaign", tag="campaigns",
           response=CampaignOut, errors=(404, 409))
def activate_campaign(campaign_id: int) -> CampaignOut:
    """Enrols every contact the segment matches now (each once); the next campaign pass (every minute, or
    `flask --app wsgi campaigns run`) queues the steps that are due. Only a draft: otherwise 409 `invalid_state`.
    A step the policy blocks now (settings changed since creation) without the admin's override given at creation
    is 409 `blocked_by_policy`. Audited."""
    return _move(campaign_id, "activate")


@operation("/campaigns/<int:campaign_id>/pause", "POST", summary="Pause a campaign", tag="campaigns",
           response=CampaignOut, errors=(404, 409))
def pause_campaign(campaign_id: int) -> CampaignOut:
    """Nothing more is queued and the campaign's queued deliveries are held; every contact keeps its place.
    Only an active campaign: otherwise 409 `invalid_state`. Audited."""
    return _move(campaign_id, "pause")


@operation("/campaigns/<int:campaign_id>/resume", "POST", summary="Resume a campaign", tag="campaigns",
           response=CampaignOut, errors=(404, 409))
def resume_campaign(campaign_id: int) -> CampaignOut:
    """Held deliveries are queued again and each contact goes on from its place (steps that fell due meanwhile go
    at the next pass; a field-relative step more than an hour late is skipped). Only a paused campaign: otherwise
    409 `invalid_state`. Audited."""
    return _move(campaign_id, "resume")


@operation("/campaigns/<int:campaign_id>/archive", "POST", summary="Archive a campaign", tag="campaigns",
           response=CampaignOut, errors=(404, 409))
def archive_campaign(campaign_id: int) -> CampaignOut:
    """Ends it for good: no step is queued again and its messages not yet sent are cancelled (their links die).
    Enrolments stay as they were, for the record. An archived campaign: 409 `invalid_state`. Audited."""
    return _move(campaign_id, "archive")


def _query_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed(f"The query parameter {name} must be a whole number from 1.",
                               {name: "must be a whole number from 1"})
    return int(raw)


@operation("/campaigns/<int:campaign_id>/enrolments", "GET", summary="List a campaign's enrolments",
           tag="campaigns", response=EnrolmentListOut, errors=(404, 422))
def list_enrolments(campaign_id: int) -> EnrolmentListOut:
    """Each contact's place, oldest enrolment first, 100 a page. `?contact_id=N` answers only that contact's
    (an empty list when it is not enrolled); `?state=active|completed|exited` narrows to one state; `?page=N`
    (from 1; past the end answers the last page)."""
    campaign = get_campaign(campaign_id)
    contact_id, page = _query_int("contact_id"), _query_int("page")
    state = request.args.get("state") or None
    if state is not None and state not in ENROLMENT_STATES:
        raise ValidationFailed("The query parameter state is not valid.",
                               {"state": f"must be one of {', '.join(ENROLMENT_STATES)}"})
    found = enrolments_page(campaign, contact_id=contact_id, state=state, page=page, per_page=ENROLMENTS_PER_PAGE)
    return EnrolmentListOut(enrolments=[EnrolmentOut.model_validate(enrolment_view(e)) for e in found.items],
                            page=found.page, pages=found.pages, per_page=found.per_page, total=found.total)
