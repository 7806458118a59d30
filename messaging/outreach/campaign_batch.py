"""One batch of a campaign pass: the claimed enrolments moved on by one step each, in one transaction.

For each enrolment the batch first works out when its next step is due (a field-relative step
whose date is missing, not ISO or already passed is **skipped**, recorded and counted, and the
next one worked out). A step that is due is then, in this order: an **exit** (opted out on the
step's channel, always; then the campaign's chosen rules, see ``campaign_exits``), **suppressed**
(no marketing consent, no address, over the frequency cap, or blocked by policy without the
override an admin gave at creation: a step run with the reason, no message), or **queued**
through ``queueing.queue_bulk`` — the same rows, renderer, encryption and decision as a one-off.
Either way the enrolment moves to the next step (or completes). The caller commits; the unique
keys (step, contact) on ``message`` and (enrolment, step) on ``campaign_step_run`` make any
second attempt at the same step an IntegrityError instead of a second message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Campaign, CampaignEnrolment, CampaignStep, CampaignStepRun, Contact
from messaging.outreach.campaign_delays import recheck_at_due, work_out
from messaging.outreach.campaign_exits import rule_exits
from messaging.outreach.campaigns import step_level
from messaging.outreach.deciding import RecipientDecider
from messaging.outreach.frequency import over_cap, recent_bulk_counts
from messaging.outreach.queueing import BulkSource, queue_bulk
from messaging.outreach.recipients import RecipientFacts, classify, needs_marketing, outcome_reason
from messaging.people.consent import states_for
from messaging.webhooks import emit

PLACE_COLUMNS = ("id", "contact_id", "step", "state", "exit_reason", "next_due_at", "enrolled_at", "last_step_at",
                 "ended_at")


@dataclass
class Place:
    """An enrolment's place as the batch moves it (written back in one bulk UPDATE)."""

    id: int
    contact_id: int
    step: int
    state: str
    exit_reason: str | None
    next_due_at: datetime | None
    enrolled_at: datetime
    last_step_at: datetime | None
    ended_at: datetime | None

    def values(self) -> tuple:
        """What the UPDATE writes (the lease cleared), hashable: places that moved alike share one UPDATE."""
        return tuple((name, getattr(self, name)) for name in PLACE_COLUMNS
                     if name not in ("id", "contact_id", "enrolled_at")) + (("claimed_by", None), ("lease_until", None))


@dataclass
class Plan:
    """What a pass reads once per campaign: its steps, their levels and deciders, the cap, the zone."""

    campaign: Campaign
    steps: list[CampaignStep]
    zone: ZoneInfo
    limits: list[tuple[int, str]]
    deciders: dict[int, RecipientDecider] = field(default_factory=dict)

    def decider(self, step: CampaignStep) -> RecipientDecider:
        if step.id not in self.deciders:
            self.deciders[step.id] = RecipientDecider(step.template, self.campaign.situation,
                                                      step_level(self.campaign, step))
        return self.deciders[step.id]


@dataclass
class Tally:
    """What one batch did."""

    queued: int = 0
    suppressed: int = 0
    skipped: int = 0
    exited: int = 0
    completed: int = 0

    def add(self, other: Tally) -> None:
        for name in ("queued", "suppressed", "skipped", "exited", "completed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def moved(self) -> int:
        """Steps dealt with by sending, suppressing or exiting: what may make another step due at once."""
        return self.queued + self.suppressed + self.exited


class Batch:
    """The work of one batch: places moved, step runs to insert, and the tally."""

    def __init__(self, plan: Plan, now: datetime):
        self.plan, self.now = plan, now
        self.runs: list[dict] = []
        self.tally = Tally()

    def record(self, place: Place, step: CampaignStep, outcome: str, reason: str | None = None,
               message_id: int | None = None) -> None:
        self.runs.append({"enrolment_id": place.id, "step_id": step.id, "outcome": outcome, "reason": reason,
                          "message_id": message_id, "at": self.now})
        setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)

    def advance(self, place: Place) -> None:
        place.step += 1
        place.last_step_at, place.next_due_at = self.now, None
        if place.step > len(self.plan.steps):
            place.state, place.ended_at = "completed", self.now
            self.tally.completed += 1

    def exit(self, place: Place, reason: str) -> None:
        place.state, place.exit_reason, place.ended_at, place.next_due_at = "exited", reason, self.now, None
        self.tally.exited += 1
        emit("campaign.exited", campaign_id=self.plan.campaign.id, enrolment_id=place.id,
             contact_id=place.contact_id, state="exited", reason=reason, step=place.step)

    def zone_of(self, contact: Contact) -> ZoneInfo:
        try:
            return ZoneInfo(contact.timezone) if contact.timezone else self.plan.zone
        except (ValueError, KeyError):
            return self.plan.zone

    def settle(self, place: Place, contact: Contact) -> CampaignStep | None:
        """Work out the place's next due time (skipping what must be skipped); the step if it is due now."""
        while place.state == "active":
            if place.step > len(self.plan.steps):
                place.state, place.ended_at = "completed", self.now
                self.tally.completed += 1
                return None
            step = self.plan.steps[place.step - 1]
            zone, form = self.zone_of(contact), contact.form_data or {}
            if place.next_due_at is None:
                due = work_out(step.delay, enrolled_at=place.enrolled_at, previous_at=place.last_step_at,
                               form_data=form, zone=zone, now=self.now)
                if due.skip:
                    self.record(place, step, "skipped", due.reason)
                    self.advance(place)
                    continue
                place.next_due_at = due.at
            if place.next_due_at > self.now:
                return None
            due = recheck_at_due(step.delay, form_data=form, zone=zone, now=self.now)
            if due.skip:
                self.record(place, step, "skipped", due.reason)
                self.advance(place)
                continue
            if due.at > self.now:  # the date moved later: wait for it
                place.next_due_at = due.at
                return None
            return step
        return None


def _write_places(places: list[Place]) -> None:
    """One UPDATE per set of places that moved alike (usually all of a batch: same step, same due time)."""
    alike: dict[tuple, list[int]] = {}
    for place in places:
        alike.setdefault(place.values(), []).append(place.id)
    for values, ids in alike.items():
        db.session.execute(update(CampaignEnrolment).where(CampaignEnrolment.id.in_(ids)).values(dict(values))
                           .execution_options(synchronize_session=False))


def _places(ids: list[int]) -> list[Place]:
    columns = [getattr(CampaignEnrolment, name) for name in PLACE_COLUMNS]
    return [Place(*row) for row in db.session.execute(
        select(*columns).where(CampaignEnrolment.id.in_(ids)).order_by(CampaignEnrolment.id))]


def _queue(batch: Batch, step: CampaignStep, items: list[tuple[Place, Contact]]) -> None:
    """Queue the step for these places (a recipient whose text cannot be rendered is suppressed)."""
    plan = batch.plan
    source = BulkSource(template=step.template, situation=plan.campaign.situation,
                        level=step_level(plan.campaign, step), campaign_step_id=step.id,
                        created_by_id=plan.campaign.created_by_id, api_key_id=plan.campaign.api_key_id,
                        override_reason=plan.campaign.override_reason)
    decider = plan.decider(step)
    sendable = []
    for place, contact in items:
        decision = decider.for_contact(contact)
        if decision.blocked and ("portal_disabled" in decision.blocked_by or not plan.campaign.override_reason):
            batch.record(place, step, "suppressed", "blocked by policy: " + ", ".join(decision.blocked_by))
            batch.advance(place)
        else:
            sendable.append((place, contact, decision))
    try:
        queued = queue_bulk(source, [(contact, decision) for _, contact, decision in sendable], batch.now)
    except ValidationFailed:  # one recipient's text does not render: find it, send the others
        queued = {}
        for place, contact, decision in list(sendable):
            try:
                queued.update(queue_bulk(source, [(contact, decision)], batch.now))
            except ValidationFailed as exc:
                batch.record(place, step, "suppressed", f"the template could not be rendered: {exc.message}"[:200])
                batch.advance(place)
                sendable.remove((place, contact, decision))
    for place, contact, _ in sendable:
        batch.record(place, step, "queued", message_id=queued[contact.id])
        batch.advance(place)


def work_batch(plan: Plan, ids: list[int], now: datetime) -> Tally:
    """Move the claimed enrolments ``ids`` on (see the module docstring), in the caller's transaction."""
    batch = Batch(plan, now)
    places = _places(ids)
    contacts = {c.id: c for c in db.session.execute(
        select(Contact).where(Contact.id.in_([p.contact_id for p in places]))).scalars()}
    due = [(place, contacts[place.contact_id], step) for place in places
           if place.contact_id in contacts and (step := batch.settle(place, contacts[place.contact_id]))]
    consent = states_for([contact.id for _, contact, _ in due], {step.template.channel for _, _, step in due})
    for place, contact, step in due:
        if not consent[contact.id].get(step.template.channel, {}).get("transactional", True):
            batch.exit(place, "opt_out")
    due = [item for item in due if item[0].state == "active"]
    exits = rule_exits(plan.campaign, [contact.id for _, contact, _ in due])
    for place, contact, _ in due:
        if contact.id in exits:
            batch.exit(place, exits[contact.id])
    due = [item for item in due if item[0].state == "active"]
    counts = recent_bulk_counts([contact.id for _, contact, _ in due], now) if plan.limits else {}
    pending: dict[int, list[tuple[Place, Contact]]] = {}
    for place, contact, step in due:
        channel = step.template.channel
        marketing = needs_marketing(plan.campaign.situation or step.template.situation)
        capped = bool(plan.limits) and over_cap(counts.get(contact.id, {}), plan.limits)
        outcome = classify(RecipientFacts(contact.id, contact.phone, contact.email), channel, marketing,
                           consent[contact.id], capped)
        if outcome == "to_send":
            pending.setdefault(step.position, []).append((place, contact))
        else:
            batch.record(place, step, "suppressed", outcome_reason(outcome, channel, marketing))
            batch.advance(place)
    for position, items in sorted(pending.items()):
        _queue(batch, plan.steps[position - 1], items)
    for place in places:  # what just moved on: work out when its next step is due
        if place.state == "active" and place.next_due_at is None and place.contact_id in contacts:
            batch.settle(place, contacts[place.contact_id])
    if batch.runs:
        db.session.execute(insert(CampaignStepRun), batch.runs)
    _write_places(places)
    for contact in contacts.values():
        db.session.expunge(contact)  # a pass over 100,000 enrolments holds one batch of contacts at a time
    return batch.tally
