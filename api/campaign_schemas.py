"""Request and response bodies of the campaign operations (they feed the OpenAPI document like api/schemas.py)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from messaging.models import CAMPAIGN_STATUSES, ENROLMENT_STATES, EXIT_REASONS, EXIT_RULES, LEVEL_MODES
from messaging.outreach.campaign_delays import MAX_MINUTES
from messaging.outreach.campaigns import MAX_STEPS

from .broadcast_schemas import DecisionOut
from .schemas import Body, ThreeValued, UtcDateTime

DELAY_DESCRIPTION = (
    'When the step is due. {"after": "enrolment", "minutes": N}: N ≥ 0 minutes after the contact was enrolled; '
    '{"after": "previous", "minutes": N}: N ≥ 0 minutes after the previous step was dealt with (for the first '
    'step, the enrolment); {"field": FORM_FIELD, "minutes": M}: M minutes (signed: -2880 is two days before) '
    "from the date in the contact's form field, an ISO date or date-time (one without a zone is read in the "
    "contact's zone, a date alone from the start of that day). The step is skipped, and counted under "
    "`skipped`, when that time has passed or the field is missing or not an ISO date. A bad delay is a 422 on "
    f"`steps.N.delay…`. Minutes are at most {MAX_MINUTES:,} either way.")
DELAY_SCHEMA = {
    "description": DELAY_DESCRIPTION,
    "oneOf": [
        {"type": "object", "required": ["after", "minutes"], "additionalProperties": False,
         "properties": {"after": {"type": "string", "enum": ["enrolment", "previous"]},
                        "minutes": {"type": "integer", "minimum": 0, "maximum": MAX_MINUTES}}},
        {"type": "object", "required": ["field", "minutes"], "additionalProperties": False,
         "properties": {"field": {"type": "string", "minLength": 1, "maxLength": 64},
                        "minutes": {"type": "integer", "minimum": -MAX_MINUTES, "maximum": MAX_MINUTES}}},
    ],
    "examples": [{"after": "enrolment", "minutes": 0}, {"field": "appointment_at", "minutes": -2880}],
}
DelayIn = Annotated[dict[str, Any], WithJsonSchema(DELAY_SCHEMA, mode="validation")]
DelayOut = Annotated[dict[str, Any], WithJsonSchema(DELAY_SCHEMA, mode="serialization")]
LEVEL_MODE = Literal[LEVEL_MODES]
MODE_DESCRIPTION = ("secure or standard at the campaign_step level of the ladder (reason \"secure — set by campaign "
                    "'NAME' step N\"); inherit leaves it to the campaign's mode, then the template and the global "
                    "default.")


class CampaignStepIn(Body):
    """One step: a template, its own mode and PIN, and when it is due."""

    template: str = Field(description="A template's slug; its channel is the step's channel.")
    mode: LEVEL_MODE = Field("inherit", description=MODE_DESCRIPTION)
    require_pin: ThreeValued = None
    delay: DelayIn


class CampaignIn(Body):
    """A campaign to create, as a draft: nobody is enrolled until `/activate`."""

    name: str = Field(description="Required, at most 200 characters, unique (ignoring case).")
    segment_id: int = Field(ge=1, le=2**31 - 1, description="The segment whose contacts are enrolled.")
    situation: str | None = Field(None, description="A situation key of the recommendation matrix; each step "
                                                    "defaults to its template's.")
    mode: LEVEL_MODE = Field("inherit", description="The campaign's mode: every step that inherits takes it, at the "
                                                    "campaign_step level of the ladder.")
    require_pin: ThreeValued = None
    recheck_daily: bool = Field(False, description="Also enrol the segment's newcomers, at most once a day.")
    exit_on: list[Literal[EXIT_RULES]] = Field(default_factory=list, description=(
        "reply: the contact sent anything after enrolment (an SMS or a reply on a reading page); view: they "
        "opened one of the campaign's secure messages; leave_segment: they no longer match the segment. Opting "
        "out on the step's channel always exits."))
    override_reason: str | None = Field(None, description=(
        "When the recommendation policy `block` refuses a step's decision: an admin key's audited reason to send "
        "it anyway. Without it (or with a staff key) the answer is 409 `blocked_by_policy`."))
    steps: list[CampaignStepIn] = Field(min_length=1, max_length=MAX_STEPS, description="In order, from step 1.")


class FunnelOut(BaseModel):
    """A step's messages by current status (`queued` includes scheduled), `suppressed` (messages and step runs that
    made no message: no consent, unreachable, frequency capped, blocked), `skipped` (a field-relative delay
    passed or its field missing or not a date), and messages with at least one event of a kind."""

    queued: int
    sent: int
    delivered: int
    failed: int
    suppressed: int
    skipped: int
    opened: int = Field(description="Messages whose link was opened (link_opened).")
    verified: int
    viewed: int
    replied: int


class CampaignStepOut(BaseModel):
    """A step: what it sends, its decision as it applies now, and its funnel."""

    position: int = Field(description="From 1.")
    template: str
    channel: str
    mode: LEVEL_MODE
    require_pin: bool | None
    delay: DelayOut
    decision: DecisionOut | None = Field(description="null when the template no longer renders.")
    funnel: FunnelOut


class ExitedOut(BaseModel):
    """Contacts who left the sequence, by the rule that took them out."""

    reply: int
    view: int
    opt_out: int
    leave_segment: int


class CampaignOut(BaseModel):
    """A campaign: its status, enrolment counts, and each step's decision and funnel."""

    id: int
    name: str
    status: Literal[CAMPAIGN_STATUSES] = Field(description="draft, active, paused or archived.")
    segment_id: int
    situation: str | None
    mode: LEVEL_MODE
    require_pin: bool | None
    recheck_daily: bool
    exit_on: list[Literal[EXIT_RULES]]
    created_at: UtcDateTime
    activated_at: UtcDateTime | None
    enrolled: int = Field(description="Every contact ever enrolled.")
    active: int = Field(description="Enrolled contacts still in the sequence.")
    completed: int = Field(description="Contacts past the last step.")
    exited: ExitedOut
    steps: list[CampaignStepOut]


class EnrolmentOut(BaseModel):
    """A contact's place in the campaign."""

    contact_id: int
    step: int = Field(description="The position of the next step (past the last once completed).")
    state: Literal[ENROLMENT_STATES]
    exit_reason: Literal[EXIT_REASONS] | None
    next_due_at: UtcDateTime | None = Field(description="When the next step is due; null: not worked out yet (the "
                                                        "next pass does it) or no step left.")


class EnrolmentListOut(BaseModel):
    """One page of enrolments, oldest first."""

    enrolments: list[EnrolmentOut]
    page: int = Field(description="This page, from 1 (a page past the end answers the last one).")
    pages: int
    per_page: int
    total: int
