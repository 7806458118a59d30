"""Campaigns: create one (checked, and refused when the policy blocks a step), read it back, find it.

A campaign is a segment enrolled into ordered steps. Each step's decision sits at the ladder's
``campaign_step`` level: the step's mode and PIN, else the campaign's, with the reason "secure —
set by campaign 'NAME' step N"; where both inherit, the template and the global default decide
as for a one-off. Steps are fixed once created (an enrolment's place is a step's position). The
state moves are in ``campaign_states``, the GET view in ``campaign_views``, the pass in
``campaign_runner``. Like every core call made for a request, nothing here commits.
"""
from __future__ import annotations

from sqlalchemy import func, select

from messaging import clock
from messaging.audience.segment_sql import rule_condition
from messaging.audience.segments import rule_clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import NotFound, ValidationFailed
from messaging.models import (
    EXIT_RULES,
    LEVEL_MODES,
    Campaign,
    CampaignEnrolment,
    CampaignStep,
    Contact,
    Segment,
    Situation,
    Template,
)
from messaging.outreach.campaign_delays import check_delay
from messaging.outreach.deciding import BulkLevel, bulk_decision, check_bulk_policy
from messaging.paging import Page, fetch_page
from messaging.people.contacts import text_problem
from messaging.people.search_index import fold
from messaging.policy.decision import Decision, pin_choice

MAX_NAME_LENGTH = 200
MAX_STEPS = 20
MAX_REASON_LENGTH = 1000


def step_level(campaign: Campaign, step: CampaignStep) -> BulkLevel:
    """The step's level of the ladder: its own mode and PIN, else the campaign's."""
    mode = step.mode if step.mode != "inherit" else campaign.mode
    pin = step.require_pin if step.require_pin is not None else campaign.require_pin
    return BulkLevel(mode, pin, label=f"campaign '{campaign.name}' step {step.position}", campaign_step=True)


def step_decision(campaign: Campaign, step: CampaignStep, contact: Contact | None = None) -> Decision:
    """The step's decision as it will apply (on ``contact``, or a stand-in recipient)."""
    return bulk_decision(step.template, campaign.situation, step_level(campaign, step), contact)


def _three_valued(value, name: str, errors: dict) -> bool | None:
    try:
        return pin_choice(value)
    except ValueError:
        errors[name] = "must be true, false or inherit"
        return None


def _check_name(name, errors: dict) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "give the campaign a name"
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"must be at most {MAX_NAME_LENGTH} characters"
    elif text_problem(name):
        errors["name"] = text_problem(name)
    else:
        # Names differing only in case would be told apart by nobody reading the list.
        for (other,) in db.session.execute(select(Campaign.name)):
            if fold(other) == fold(name):
                errors["name"] = f"is taken: a campaign named '{other}' already exists"
                break
    return name


def _check_steps(steps, errors: dict) -> list[CampaignStep]:
    if not isinstance(steps, list) or not steps:
        errors["steps"] = "add at least one step"
        return []
    if len(steps) > MAX_STEPS:
        errors["steps"] = f"at most {MAX_STEPS} steps"
        return []
    slugs = {s.get("template") for s in steps if isinstance(s, dict) and isinstance(s.get("template"), str)}
    templates = {t.slug: t for t in db.session.execute(select(Template).where(Template.slug.in_(slugs))).scalars()}
    built = []
    for index, raw in enumerate(steps):
        where = f"steps.{index}"
        if not isinstance(raw, dict):
            errors[where] = "must be an object with template, mode, require_pin and delay"
            continue
        for key in sorted(set(raw) - {"template", "mode", "require_pin", "delay"}):
            errors[f"{where}.{key}"] = "is not a known field"
        slug = raw.get("template")
        template = templates.get(slug) if isinstance(slug, str) else None
        if template is None:
            errors[f"{where}.template"] = f"no template with slug '{slug}'" if slug else "choose a template"
        mode = raw.get("mode") or "inherit"
        if mode not in LEVEL_MODES:
            errors[f"{where}.mode"] = "must be inherit, secure or standard"
        pin = _three_valued(raw.get("require_pin"), f"{where}.require_pin", errors)
        delay, problems = check_delay(raw.get("delay"), f"{where}.delay")
        errors.update(problems)
        if template is not None and mode in LEVEL_MODES and delay is not None:
            built.append(CampaignStep(position=index + 1, template=template, mode=mode, require_pin=pin, delay=delay))
    return built


def _check(fields: dict, errors: dict) -> dict:
    """Every field of a new campaign checked; the values to store."""
    values = {"name": _check_name(fields.get("name"), errors)}
    segment_id = fields.get("segment_id")
    segment = db.session.get(Segment, segment_id) if isinstance(segment_id, int) and 0 < segment_id < 2**31 else None
    if segment is None:
        errors["segment_id"] = f"no segment with id {segment_id}" if segment_id is not None else "choose a segment"
    values["segment"] = segment
    situation = None
    if fields.get("situation_key"):
        situation = db.session.execute(select(Situation).filter_by(key=fields["situation_key"])).scalar_one_or_none()
        if situation is None:
            errors["situation"] = f"no situation with key '{fields['situation_key']}'"
    values["situation"] = situation
    values["mode"] = fields.get("mode") or "inherit"
    if values["mode"] not in LEVEL_MODES:
        errors["mode"] = "must be inherit, secure or standard"
    values["require_pin"] = _three_valued(fields.get("require_pin"), "require_pin", errors)
    exit_on = fields.get("exit_on") or []
    if not isinstance(exit_on, list | tuple) or any(rule not in EXIT_RULES for rule in exit_on):
        errors["exit_on"] = f"each must be one of {', '.join(EXIT_RULES)} (opting out always exits)"
    elif len(set(exit_on)) != len(exit_on):
        errors["exit_on"] = "a rule is listed twice"
    values["exit_on"] = [rule for rule in EXIT_RULES if rule in exit_on] if "exit_on" not in errors else []
    reason = (fields.get("override_reason") or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        errors["override_reason"] = f"must be at most {MAX_REASON_LENGTH} characters"
    values["override_reason"] = reason or None
    values["steps"] = _check_steps(fields.get("steps"), errors)
    return values


def preview_steps(fields: dict) -> tuple[list[tuple[CampaignStep, Decision | None]], dict[str, str]]:
    """Each step as it would be created, with its decision, and the problems so far. Stores nothing
    (for the console's editor: the decision of each step shown as it will apply)."""
    errors: dict[str, str] = {}
    values = _check(fields, errors)
    campaign = Campaign(name=values["name"] or "…", mode=values["mode"] if values["mode"] in LEVEL_MODES else "inherit",
                        require_pin=values["require_pin"], situation=values["situation"])
    return [(step, step_decision(campaign, step)) for step in values["steps"]], errors


def create_campaign(actor: Actor, **fields) -> Campaign:
    """A draft campaign. Fields: ``name``, ``segment_id``, ``steps`` (dicts with ``template`` (slug),
    ``mode``, ``require_pin``, ``delay``), ``situation_key``, ``mode``, ``require_pin``, ``recheck_daily``,
    ``exit_on``, ``override_reason``.

    ValidationFailed names each bad field (``steps.1.delay.minutes``); a step the policy blocks is
    refused (PolicyRefused, or Conflict ``portal_disabled``) unless an admin gives a reason, audited.
    """
    errors: dict[str, str] = {}
    values = _check(fields, errors)
    if errors:
        first, problem = next(iter(errors.items()))
        raise ValidationFailed(f"The campaign cannot be created as it is: {first} {problem}.", errors)
    campaign = Campaign(name=values["name"], segment_id=values["segment"].id, situation=values["situation"],
                        mode=values["mode"], require_pin=values["require_pin"],
                        recheck_daily=bool(fields.get("recheck_daily")), exit_on=values["exit_on"],
                        override_reason=values["override_reason"], created_by_id=actor.user_id,
                        api_key_id=actor.api_key_id, created_at=clock.utcnow())
    blocked = []
    for step in values["steps"]:
        level = step_level(campaign, step)
        decision = step_decision(campaign, step)
        check_bulk_policy(step.template, campaign.situation, level, decision, actor, campaign.override_reason)
        if decision.blocked:
            blocked.append({"step": step.position, "blocked_by": list(decision.blocked_by)})
    if not blocked:
        campaign.override_reason = None  # nothing was overridden: no reason to keep
    campaign.steps = values["steps"]
    db.session.add(campaign)
    db.session.flush()
    if blocked:
        audit(actor, "campaign.policy_override", "campaign", campaign.id, reason=campaign.override_reason,
              steps=blocked)
    audit(actor, "campaign.create", "campaign", campaign.id, name=campaign.name, segment_id=campaign.segment_id,
          steps=[{"template": s.template.slug, "mode": s.mode, "delay": s.delay} for s in campaign.steps],
          mode=campaign.mode, exit_on=campaign.exit_on, recheck_daily=campaign.recheck_daily)
    return campaign


def get_campaign(campaign_id: int) -> Campaign:
    """The campaign with this id; NotFound otherwise."""
    campaign = db.session.get(Campaign, campaign_id) if 0 < campaign_id < 2**31 else None
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    return campaign


def list_campaigns(page: int | None = None, per_page: int = 25) -> Page:
    """Campaigns, newest first."""
    return fetch_page(select(Campaign).order_by(Campaign.id.desc()), select(func.count(Campaign.id)), page, per_page)


def sample_contact_of(campaign: Campaign) -> Contact | None:
    """The contact a campaign's decisions are shown for: its first enrolled contact, else (a draft) the
    segment's first contact, as a broadcast's draft shows it."""
    enrolled = db.session.execute(
        select(Contact).join(CampaignEnrolment, CampaignEnrolment.contact_id == Contact.id)
        .where(CampaignEnrolment.campaign_id == campaign.id).order_by(CampaignEnrolment.id).limit(1)
    ).scalar_one_or_none()
    if enrolled is not None:
        return enrolled
    segment = db.session.get(Segment, campaign.segment_id)
    try:
        condition = rule_condition(segment.rule, rule_clock()) if segment is not None else None
    except ValidationFailed:
        return None
    if condition is None:
        return None
    return db.session.execute(select(Contact).where(condition).order_by(Contact.id).limit(1)).scalar_one_or_none()
