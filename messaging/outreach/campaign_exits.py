"""Who leaves a campaign when a step falls due: the exit rules, each one query over a batch of contacts.

Opting out always exits (checked by the batch on the step's channel, from the consent it has
already read). The rules a campaign chooses (``exit_on``):

- ``reply``: the contact sent the organisation anything after being enrolled — an SMS, or a reply
  on a message's reading page (any inbound message, whatever it answers: an inbound SMS names no
  message, and a client who writes back is waiting for a person, not for the next automated step);
- ``view``: the contact opened one of this campaign's secure messages (its ``viewed_at`` is set);
- ``leave_segment``: the contact no longer matches the segment's rule (read now, in SQL).

When several apply, the first of reply, view, leave_segment is the reason recorded.
"""
from __future__ import annotations

from sqlalchemy import and_, select

from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Campaign, CampaignEnrolment, Contact, Message
from messaging.outreach.campaign_states import segment_condition, step_messages


def replied(campaign: Campaign, contact_ids: list[int]) -> set[int]:
    """Contacts with an inbound message received since they were enrolled in this campaign."""
    enrolment = and_(CampaignEnrolment.contact_id == Message.contact_id, CampaignEnrolment.campaign_id == campaign.id)
    return set(db.session.execute(
        select(Message.contact_id).join(CampaignEnrolment, enrolment)
        .where(Message.direction == "in", Message.contact_id.in_(contact_ids),
               Message.created_at >= CampaignEnrolment.enrolled_at).distinct()).scalars())


def viewed(campaign: Campaign, contact_ids: list[int]) -> set[int]:
    """Contacts who read one of this campaign's messages."""
    return set(db.session.execute(
        select(Message.contact_id).where(step_messages(campaign), Message.contact_id.in_(contact_ids),
                                         Message.viewed_at.is_not(None)).distinct()).scalars())


def left_segment(campaign: Campaign, contact_ids: list[int]) -> set[int]:
    """Contacts the segment's rule no longer matches. A rule that no longer checks exits nobody."""
    try:
        condition = segment_condition(campaign)
    except ValidationFailed:
        return set()
    still = set(db.session.execute(select(Contact.id).where(Contact.id.in_(contact_ids), condition)).scalars())
    return set(contact_ids) - still


RULES = (("reply", replied), ("view", viewed), ("leave_segment", left_segment))


def rule_exits(campaign: Campaign, contact_ids: list[int]) -> dict[int, str]:
    """``{contact_id: exit reason}`` for the contacts one of the campaign's chosen rules takes out."""
    found: dict[int, str] = {}
    remaining = list(contact_ids)
    for name, finder in RULES:
        if name not in (campaign.exit_on or []) or not remaining:
            continue
        for contact_id in finder(campaign, remaining):
            found[contact_id] = name
        remaining = [cid for cid in remaining if cid not in found]
    return found

