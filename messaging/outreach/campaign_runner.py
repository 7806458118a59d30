"""One campaign pass (``flask --app wsgi campaigns run``, and the scheduler every minute).

For each **active** campaign: enrol the segment's newcomers when ``recheck_daily`` asks and a day
has gone by since the last enrolment (one conditional UPDATE decides which worker does it), then
work through the enrolments that are due, in batches of ``FANOUT_BATCH_SIZE``:

1. **claim** a batch: one ``UPDATE … RETURNING`` over the next due enrolments by id (keyset, so
   nothing is held in memory but the batch), leased to this worker and committed at once; on
   PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, and a row another worker holds a
   live lease on is never picked;
2. **work** it in one transaction: renew the lease only on rows still ours, lock the campaign
   ``FOR SHARE`` (a pause or archive waits for the batch, and a batch after a pause sees it and
   stops), move each enrolment on by one step (``campaign_batch``), commit. An IntegrityError
   (another worker got to a step first: the unique keys) rolls the batch back and the pass goes on.

A step queued may make the next one due at once (a delay of 0): the pass goes round again, at
most once per step. Why nothing is ever doubled: a message per (step, contact) and a step run per
(enrolment, step) are unique keys, checked by the database inside the batch's transaction; the
lease only saves the work of a race, never decides it. Owns its transactions.
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from messaging import clock
from messaging.audit import SYSTEM, audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Campaign, CampaignEnrolment
from messaging.outreach.campaign_batch import Plan, Tally, work_batch
from messaging.outreach.campaign_states import claim_recheck, enrol_matching
from messaging.settings import get_settings, parse_frequency_cap

LEASE_SECONDS = 300
log = logging.getLogger(__name__)


@dataclass
class CampaignPassResult:
    """What one pass did, over every active campaign."""

    campaigns: int = 0
    enrolled: int = 0
    tally: Tally = field(default_factory=Tally)
    conflicts: int = 0  # batches rolled back because another worker got there first

    def summary(self) -> str:
        """One line for the command line, e.g. ``1 active campaign: 3 enrolled, 2 queued, …``."""
        t = self.tally
        line = (f"{self.campaigns} active campaign{'s' if self.campaigns != 1 else ''}: {self.enrolled} enrolled, "
                f"{t.queued} queued, {t.suppressed} suppressed, {t.skipped} skipped, {t.exited} exited, "
                f"{t.completed} completed")
        return line + (f", {self.conflicts} batches left to another worker" if self.conflicts else "")


def _owner() -> str:
    """This process as a lease's owner: host name and process id."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def claim_batch(campaign_id: int, after: int, now: datetime, owner: str, size: int) -> list[int]:
    """Lease the next ``size`` due enrolments after id ``after`` to ``owner``; committed at once."""
    db.session.commit()
    moment = clock.utcnow()
    pick = (select(CampaignEnrolment.id)
            .where(CampaignEnrolment.campaign_id == campaign_id, CampaignEnrolment.state == "active",
                   or_(CampaignEnrolment.next_due_at.is_(None), CampaignEnrolment.next_due_at <= now),
                   or_(CampaignEnrolment.lease_until.is_(None), CampaignEnrolment.lease_until < moment),
                   CampaignEnrolment.id > after)
            .order_by(CampaignEnrolment.id).limit(size))
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.execute(
        update(CampaignEnrolment).where(CampaignEnrolment.id.in_(pick))
        .values(claimed_by=owner, lease_until=moment + timedelta(seconds=LEASE_SECONDS))
        .returning(CampaignEnrolment.id).execution_options(synchronize_session=False)).scalars().all()
    db.session.commit()
    return sorted(ids)


def _still_ours(ids: list[int], owner: str) -> list[int]:
    moment = clock.utcnow()
    return sorted(db.session.execute(
        update(CampaignEnrolment).where(CampaignEnrolment.id.in_(ids), CampaignEnrolment.claimed_by == owner)
        .values(lease_until=moment + timedelta(seconds=LEASE_SECONDS))
        .returning(CampaignEnrolment.id).execution_options(synchronize_session=False)).scalars().all())


def _release(ids: list[int], owner: str) -> None:
    db.session.execute(update(CampaignEnrolment).where(CampaignEnrolment.id.in_(ids),
                                                       CampaignEnrolment.claimed_by == owner)
                       .values(claimed_by=None, lease_until=None).execution_options(synchronize_session=False))
    db.session.commit()


def _still_active(campaign_id: int) -> bool:
    query = select(Campaign.status).where(Campaign.id == campaign_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return db.session.execute(query).scalar_one_or_none() == "active"


def work_claimed(plan: Plan, ids: list[int], now: datetime, owner: str, result: CampaignPassResult) -> Tally | None:
    """One claimed batch in one transaction (only the rows still leased to ``owner``); None when the campaign
    stopped being active."""
    try:
        if not _still_active(plan.campaign.id):
            db.session.rollback()
            _release(ids, owner)
            return None
        ours = _still_ours(ids, owner)
        tally = work_batch(plan, ours, now) if ours else Tally()
        db.session.commit()
        return tally
    except IntegrityError:
        # Another worker queued one of these steps first. The lease is kept: the rows come back once it
        # runs out, when that worker's commit is there to read, rather than again in this pass.
        db.session.rollback()
        result.conflicts += 1
        return Tally()
    except Exception:
        db.session.rollback()
        _release(ids, owner)
        raise


def plan_for(campaign: Campaign) -> Plan:
    """What a pass reads once of a campaign: its steps, the organisation's zone, the frequency cap."""
    settings = get_settings()
    try:
        zone = ZoneInfo(settings.timezone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return Plan(campaign=campaign, steps=list(campaign.steps), zone=zone,
                limits=parse_frequency_cap(settings.frequency_cap))


def _enrol_newcomers(campaign: Campaign, now: datetime) -> int:
    try:
        if not claim_recheck(campaign.id, now):
            db.session.rollback()
            return 0
        enrolled = enrol_matching(campaign, now)
        db.session.commit()
        return enrolled
    except (IntegrityError, ValidationFailed):
        db.session.rollback()
        log.warning("campaign %s: newcomers not enrolled this pass", campaign.id, exc_info=True)
        return 0


def run_campaign(campaign: Campaign, now: datetime, result: CampaignPassResult) -> Tally:
    """Enrol newcomers if due, then work every due enrolment of one campaign."""
    owner, size = _owner(), int(current_app.config["FANOUT_BATCH_SIZE"])
    if campaign.recheck_daily:
        result.enrolled += _enrol_newcomers(campaign, now)
    plan, done = plan_for(campaign), Tally()
    db.session.commit()
    for _round in range(len(plan.steps) + 1):
        round_tally, after = Tally(), 0
        while ids := claim_batch(campaign.id, after, now, owner, size):
            after = ids[-1]
            tally = work_claimed(plan, ids, now, owner, result)
            if tally is None:
                return done
            round_tally.add(tally)
        done.add(round_tally)
        if not round_tally.moved:
            break
    return done


def run_campaigns_once(now: datetime | None = None) -> CampaignPassResult:
    """One pass over every active campaign (see the module docstring). Owns its transactions."""
    now = now or clock.utcnow()
    result = CampaignPassResult()
    ids = list(db.session.execute(select(Campaign.id).where(Campaign.status == "active").order_by(Campaign.id))
               .scalars())
    db.session.commit()
    for campaign_id in ids:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "active":
            continue
        result.campaigns += 1
        tally = run_campaign(campaign, now, result)
        result.tally.add(tally)
        if tally.queued or tally.suppressed or tally.skipped or tally.exited or tally.completed:
            audit(SYSTEM, "campaign.pass", "campaign", campaign_id, queued=tally.queued, suppressed=tally.suppressed,
                  skipped=tally.skipped, exited=tally.exited, completed=tally.completed)
            db.session.commit()
    return result
