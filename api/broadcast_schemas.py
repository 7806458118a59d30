"""Request and response bodies of the broadcast operations (they feed the OpenAPI document like api/schemas.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from messaging.models import BROADCAST_STATUSES, LEVEL_MODES

from .schemas import LEVEL, MODE, Body, SendAt, ThreeValued, UtcDateTime, WarningOut

PER_PAGE = 50  # broadcasts per page of GET /broadcasts
SEGMENT_IDS = Field(min_length=1, max_length=20, description=(
    "One or more segment ids, in order: a contact in several segments is counted once, through the first "
    "that holds it (the others count it under `duplicates`)."))


class BroadcastIn(Body):
    """A broadcast to create, as a draft: nothing is sent until `/send`."""

    name: str = Field(description="Required, at most 200 characters, unique; a name in use is a 422 on `name`.")
    segment_ids: list[int] = SEGMENT_IDS
    template: str = Field(description="A template's slug; its channel is the broadcast's channel.")
    situation: str | None = Field(None, description="A situation key of the recommendation matrix; defaults to "
                                                    "the template's.")
    mode: Literal[LEVEL_MODES] = Field("inherit", description=(
        "secure or standard for every recipient, at the one-off level of the ladder (reason \"secure — set by "
        "broadcast 'NAME'\"); inherit leaves it to the template and the global default."))
    require_pin: ThreeValued = None
    send_at: SendAt | None = Field(None, description="ISO 8601; a time without a zone is UTC. Given: `/send` "
                                                     "schedules the broadcast for then. Absent: `/send` sends now.")
    override_reason: str | None = Field(None, description=(
        "When the recommendation policy `block` refuses the decision: an admin key's audited reason to send it "
        "anyway. Without it (or with a staff key) the answer is 409 `blocked_by_policy`."))


class AudienceOut(BaseModel):
    """Who gets it. `matched` counts contact–segment pairs; each is counted once more in the first of
    duplicates, opted_out, no_consent, unreachable, frequency_capped that applies, else to_send; so
    matched = to_send + duplicates + opted_out + no_consent + unreachable + frequency_capped. Live until
    `/send`, then frozen."""

    matched: int
    duplicates: int = Field(description="Already counted through an earlier segment.")
    opted_out: int = Field(description="Transactional consent on the channel withdrawn (STOP…).")
    no_consent: int = Field(description="The purpose's consent not granted: CHANNEL:marketing for situations "
                                        "recommended standard_opt_in, CHANNEL:transactional for the others.")
    unreachable: int = Field(description="No phone number or e-mail address for the channel.")
    frequency_capped: int = Field(description="Over the `frequency_cap` setting.")
    to_send: int = Field(description="The recipients who get a message.")


class DecisionOut(BaseModel):
    """The decision as a preview shows it: secure or standard, PIN, which level decided and why, warnings
    (shared by broadcasts and campaign steps)."""

    mode: MODE
    require_pin: bool
    decided_by: LEVEL
    pin_decided_by: LEVEL
    reason: str = Field(description="E.g. \"secure — set by broadcast 'March'\", \"secure — set by campaign "
                                    "'Recall' step 2\".")
    recommendation: str | None = Field(description="The situation's recommendation: secure, standard or "
                                                   "standard_opt_in.")
    situation: str | None
    warnings: list[WarningOut]
    blocked: bool = Field(description="Whether the recommendation policy (or the portal being off) refuses it; "
                                      "a broadcast or campaign created under an admin's override_reason keeps "
                                      "blocked true.")
    blocked_by: list[str]


class ProgressOut(BaseModel):
    """The broadcast's messages by current status (`queued` includes scheduled ones), and how many
    have at least one event of a kind (`opened` = link_opened)."""

    queued: int
    sent: int
    delivered: int
    failed: int
    suppressed: int
    opened: int
    verified: int
    viewed: int
    replied: int


class BroadcastOut(BaseModel):
    """A broadcast: what it sends to whom, the audience counts, the decision and the progress."""

    id: int
    name: str
    status: Literal[BROADCAST_STATUSES] = Field(description="draft, scheduled, sending, paused, sent or "
                                                            "cancelled.")
    segment_ids: list[int]
    template: str = Field(description="The template's slug.")
    situation: str | None = Field(description="The situation's key (the template's when none was given).")
    mode: Literal[LEVEL_MODES]
    require_pin: bool | None
    send_at: UtcDateTime | None
    created_at: UtcDateTime
    audience: AudienceOut
    decision: DecisionOut
    progress: ProgressOut


class BroadcastSummaryOut(BaseModel):
    """A broadcast in the list: no live counts (read one broadcast for those)."""

    id: int
    name: str
    status: Literal[BROADCAST_STATUSES]
    template: str
    send_at: UtcDateTime | None
    created_at: UtcDateTime
    to_send: int | None = Field(description="The frozen `to_send` once sent; null for a draft (its audience is "
                                            "live: read the broadcast).")


class BroadcastListOut(BaseModel):
    """One page of broadcasts, newest first."""

    broadcasts: list[BroadcastSummaryOut]
    page: int = Field(description="This page, from 1 (a page past the end answers the last one).")
    pages: int = Field(description="How many pages there are (at least 1).")
    per_page: int
    total: int

