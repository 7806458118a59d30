"""Tables of the one-to-many side: broadcasts and their recipients, campaigns, steps, enrolments, step runs.

Every message a broadcast or a campaign step sends is an ordinary ``Message`` that names its
broadcast or step; the unique keys on ``message`` (broadcast, contact) and (campaign step,
contact) are what make "at most once per recipient" hold whatever the workers do.
``BroadcastRecipient`` is the audience frozen at ``/send``: one row per distinct contact with the
outcome it was counted in (to_send, opted_out, …) and, once fanned out, its message.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from messaging.db import db
from messaging.models.defaults import now
from messaging.models.organisation import Situation, Template

BROADCAST_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
CAMPAIGN_STATUSES = ("draft", "active", "paused", "archived")
# The order in which a contact-segment pair is counted: the first that applies.
AUDIENCE_OUTCOMES = ("duplicates", "opted_out", "no_consent", "unreachable", "frequency_capped", "to_send")
EXIT_RULES = ("reply", "view", "leave_segment")
EXIT_REASONS = ("reply", "view", "opt_out", "leave_segment")
ENROLMENT_STATES = ("active", "completed", "exited")
STEP_RUN_OUTCOMES = ("queued", "suppressed", "skipped")


class Broadcast(db.Model):
    """One template sent once to every contact of one or more segments."""

    __tablename__ = "broadcast"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Segment ids in the order given: a contact is counted through the first segment that holds it.
    segment_ids: Mapped[list] = mapped_column(JSON, default=list)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("situation.id"))
    mode: Mapped[str] = mapped_column(String(16), default="inherit")
    require_pin: Mapped[bool | None]
    send_at: Mapped[datetime | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    # Frozen at /send: the audience counts and the decision as they were then.
    audience: Mapped[dict | None] = mapped_column(JSON)
    decision: Mapped[dict | None] = mapped_column(JSON)
    sent_requested_at: Mapped[datetime | None]
    fanout_done_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The fan-out's lease: one worker at a time works through the recipients.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]

    template: Mapped[Template] = relationship()
    situation: Mapped[Situation | None] = relationship()

    def __str__(self) -> str:
        return self.name


class BroadcastRecipient(db.Model):
    """A distinct contact of a sent broadcast, the outcome it counted in, and its message once queued."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (UniqueConstraint("broadcast_id", "contact_id", name="uq_broadcast_recipient_contact"),
                      Index("ix_broadcast_recipient_outcome", "broadcast_id", "outcome", "message_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"))
    segment_id: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))


class Campaign(db.Model):
    """A segment enrolled into ordered steps, each sent after its delay unless an exit rule fires."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"))
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("situation.id"))
    mode: Mapped[str] = mapped_column(String(16), default="inherit")
    require_pin: Mapped[bool | None]
    recheck_daily: Mapped[bool] = mapped_column(default=False)
    exit_on: Mapped[list] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    activated_at: Mapped[datetime | None]
    last_enrolled_at: Mapped[datetime | None]

    situation: Mapped[Situation | None] = relationship()
    steps: Mapped[list[CampaignStep]] = relationship(
        back_populates="campaign", order_by="CampaignStep.position", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name


class CampaignStep(db.Model):
    """One step of a campaign: a template, its own mode and PIN, and when it is due."""

    __tablename__ = "campaign_step"
    __table_args__ = (UniqueConstraint("campaign_id", "position", name="uq_campaign_step_position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    position: Mapped[int]  # 1, 2, …
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    mode: Mapped[str] = mapped_column(String(16), default="inherit")
    require_pin: Mapped[bool | None]
    # {"after": "enrolment" | "previous", "minutes": N} or {"field": NAME, "minutes": M}
    delay: Mapped[dict] = mapped_column(JSON)

    campaign: Mapped[Campaign] = relationship(back_populates="steps")
    template: Mapped[Template] = relationship()


class CampaignEnrolment(db.Model):
    """A contact's place in a campaign: the next step, when it is due, or how the contact left."""

    __tablename__ = "campaign_enrolment"
    __table_args__ = (UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_enrolment_contact"),
                      Index("ix_campaign_enrolment_due", "campaign_id", "state", "next_due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    step: Mapped[int] = mapped_column(default=1)  # position of the next step; past the last when completed
    state: Mapped[str] = mapped_column(String(16), default="active")
    exit_reason: Mapped[str | None] = mapped_column(String(16))
    # None: the next step's time has not been worked out yet (the next pass does it).
    next_due_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime] = mapped_column(default=now)
    last_step_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class CampaignStepRun(db.Model):
    """What became of one step for one enrolment: queued (with its message), suppressed or skipped."""

    __tablename__ = "campaign_step_run"
    __table_args__ = (UniqueConstraint("enrolment_id", "step_id", name="uq_campaign_step_run"),
                      Index("ix_campaign_step_run_step", "step_id", "outcome"))
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("campaign_enrolment.id"))
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_step.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    at: Mapped[datetime] = mapped_column(default=now)
