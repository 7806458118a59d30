"""A broadcast's audience: every contact of its segments, counted once, in the outcome that applies.

``matched`` counts contact–segment pairs. A pair whose contact an earlier segment already
brought is a ``duplicate``; each contact first met is classified by ``recipients.classify``. The
contacts are streamed from SQL in batches (keyset on the contact id), segment by segment, each
segment's condition excluding the earlier ones — no list of the whole audience is ever held.
The live count (a draft) and the snapshot taken at ``/send`` walk the same stream, so the
numbers staff read before sending are the ones the fan-out works from.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, false, func, insert, not_, or_, select

from messaging.audience.segment_sql import rule_condition
from messaging.audience.segments import rule_clock
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import AUDIENCE_OUTCOMES, Broadcast, BroadcastRecipient, Contact, Segment
from messaging.outreach.frequency import over_cap, recent_bulk_counts
from messaging.outreach.recipients import RecipientFacts, classify, needs_marketing
from messaging.people.consent import states_for
from messaging.settings import get_settings, parse_frequency_cap

BATCH = 1000


@dataclass(frozen=True)
class Counted:
    """One contact met first through ``segment_id``, and its outcome."""

    facts: RecipientFacts
    segment_id: int
    outcome: str


def segment_conditions(segment_ids: list[int]) -> list[tuple[int, ColumnElement[bool]]]:
    """Each segment's SQL condition, in the broadcast's order; a segment gone is a ValidationFailed."""
    when = rule_clock()
    found = {s.id: s for s in db.session.execute(select(Segment).where(Segment.id.in_(segment_ids))).scalars()}
    missing = [str(i) for i in segment_ids if i not in found]
    if missing:
        raise ValidationFailed("A segment of this broadcast no longer exists.",
                               {"segment_ids": f"no segment with id {', '.join(missing)}"})
    return [(i, rule_condition(found[i].rule, when)) for i in segment_ids]


def _first_met(conditions, index: int) -> ColumnElement[bool]:
    earlier = [condition for _, condition in conditions[:index]]
    if not earlier:
        return conditions[index][1]
    # COALESCE: a rule can be NULL for a contact (a missing field); NOT NULL would drop them from both.
    return conditions[index][1] & not_(func.coalesce(or_(*earlier), false(), type_=Boolean))


def pair_counts(conditions) -> tuple[int, int]:
    """(matched pairs, duplicates): every segment's count, and how many of those an earlier segment had."""
    matched = duplicates = 0
    for index, (_, condition) in enumerate(conditions):
        total = db.session.execute(select(func.count()).select_from(Contact).where(condition)).scalar_one()
        first = total if index == 0 else db.session.execute(
            select(func.count()).select_from(Contact).where(_first_met(conditions, index))).scalar_one()
        matched += total
        duplicates += total - first
    return matched, duplicates


def _batches(condition: ColumnElement[bool]) -> Iterator[list[RecipientFacts]]:
    after = 0
    while True:
        rows = db.session.execute(select(Contact.id, Contact.phone, Contact.email)
                                  .where(condition, Contact.id > after).order_by(Contact.id).limit(BATCH)).all()
        if not rows:
            return
        yield [RecipientFacts(*row) for row in rows]
        after = rows[-1][0]


def counted_contacts(broadcast: Broadcast, now: datetime, conditions=None) -> Iterator[list[Counted]]:
    """The audience in batches: each distinct contact with the segment it came through and its outcome."""
    conditions = conditions if conditions is not None else segment_conditions(broadcast.segment_ids)
    channel = broadcast.template.channel
    marketing = needs_marketing(broadcast.situation or broadcast.template.situation)
    limits = parse_frequency_cap(get_settings().frequency_cap)
    for index, (segment_id, _) in enumerate(conditions):
        for batch in _batches(_first_met(conditions, index)):
            ids = [f.contact_id for f in batch]
            consent = states_for(ids)
            recent = recent_bulk_counts(ids, now) if limits else {}
            yield [Counted(f, segment_id, classify(f, channel, marketing, consent[f.contact_id],
                                                   bool(limits) and over_cap(recent[f.contact_id], limits)))
                   for f in batch]


def empty_counts() -> dict[str, int]:
    """Every count at zero, in the contract's keys."""
    return {"matched": 0, **dict.fromkeys(AUDIENCE_OUTCOMES, 0)}


def live_counts(broadcast: Broadcast, now: datetime) -> dict[str, int]:
    """The counts as they stand now (a draft's audience panel)."""
    conditions = segment_conditions(broadcast.segment_ids)
    counts = empty_counts()
    counts["matched"], counts["duplicates"] = pair_counts(conditions)
    for batch in counted_contacts(broadcast, now, conditions):
        for row in batch:
            counts[row.outcome] += 1
    return counts


def take_snapshot(broadcast: Broadcast, now: datetime) -> dict[str, int]:
    """Write the audience as recipient rows (in the caller's transaction); returns the counts."""
    conditions = segment_conditions(broadcast.segment_ids)
    counts = empty_counts()
    counts["matched"], counts["duplicates"] = pair_counts(conditions)
    for batch in counted_contacts(broadcast, now, conditions):
        db.session.execute(insert(BroadcastRecipient), [
            {"broadcast_id": broadcast.id, "contact_id": row.facts.contact_id, "segment_id": row.segment_id,
             "outcome": row.outcome} for row in batch])
        for row in batch:
            counts[row.outcome] += 1
    return counts


def frozen_counts(broadcast: Broadcast) -> dict[str, int]:
    """The counts of a sent broadcast, read from its recipient rows (the fan-out may move a
    recipient to ``frequency_capped`` when another send reached the contact first)."""
    counts = empty_counts()
    counts.update(db.session.execute(
        select(BroadcastRecipient.outcome, func.count()).where(BroadcastRecipient.broadcast_id == broadcast.id)
        .group_by(BroadcastRecipient.outcome)).all())
    counts["duplicates"] = (broadcast.audience or {}).get("duplicates", 0)
    counts["matched"] = sum(counts[o] for o in AUDIENCE_OUTCOMES)
    return counts
