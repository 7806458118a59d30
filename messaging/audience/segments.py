"""Segments: named, stored rules over tags, form fields, the contact's own columns and consent.

A segment stores its rule, never its members: who is in it is asked of the database each time
(``count_matching``, ``sample_matching``), so a contact who is tagged, answers a form or withdraws
consent is in or out at once. Creating, changing and deleting a segment is audited; like every
core call made for a request, nothing here commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, literal, select

from messaging import clock
from messaging.audience.segment_rules import check_rule
from messaging.audience.segment_sql import RuleClock, rule_condition
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound, ValidationFailed
from messaging.models import Broadcast, Campaign, Contact, ContactField, ContactTag, Segment
from messaging.people.contacts import text_problem
from messaging.people.search_index import fold
from messaging.settings import get_settings

MAX_NAME_LENGTH = 200
SAMPLE_SIZE = 10
# segments_of_contact asks about this many segments per query (one boolean column each).
SEGMENTS_PER_QUERY = 50


@dataclass(frozen=True)
class SegmentPreview:
    """How many contacts a rule matches now, and the lowest ids among them."""

    count: int
    sample: list[int]


def rule_clock() -> RuleClock:
    """Today in the organisation's zone (``Settings.timezone``), read from ``messaging.clock``."""
    zone = ZoneInfo(get_settings().timezone or "UTC")
    now = clock.utcnow().replace(tzinfo=UTC)
    return RuleClock(today=now.astimezone(zone).date(), zone=zone)


def _name_problem(name, segment: Segment | None) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "is required"
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters, not {len(name):,}"
    problem = text_problem(name)
    if problem:
        return problem
    # Names differing only in case would be told apart by nobody reading a list of them.
    for other_id, other in db.session.execute(select(Segment.id, Segment.name)):
        if fold(other) == fold(name) and (segment is None or other_id != segment.id):
            return f"is taken: a segment named '{other}' already exists"
    return None


def _checked(name, rule, segment: Segment | None, check_name: bool = True, check: bool = True) -> dict:
    errors: dict[str, str] = {}
    if check_name:
        problem = _name_problem(name, segment)
        if problem:
            errors["name"] = problem
    clean = None
    if check:
        try:
            clean = check_rule(rule)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        first, problem = next(iter(errors.items()))
        raise ValidationFailed(f"The segment is not valid: {first} {problem}.", errors)
    return clean


def create_segment(actor: Actor, name, rule) -> Segment:
    """Check and store a new segment, audited. ValidationFailed names each problem (``name``, ``rule.…``)."""
    clean = _checked(name, rule, None)
    segment = Segment(name=name.strip(), rule=clean, created_by=actor.label)
    db.session.add(segment)
    db.session.flush()
    audit(actor, "segment.create", "segment", segment.id, name=segment.name, rule=clean)
    return segment


def update_segment(actor: Actor, segment: Segment, name=None, rule=None) -> list[str]:
    """Rename a segment and/or replace its rule (None leaves either as it is); audited. Returns what changed."""
    clean = _checked(name, rule, segment, check_name=name is not None, check=rule is not None)
    changed, old = [], {"name": segment.name, "rule": segment.rule}
    if name is not None and name.strip() != segment.name:
        segment.name = name.strip()
        changed.append("name")
    if clean is not None and clean != segment.rule:
        segment.rule = clean
        changed.append("rule")
    if changed:
        db.session.flush()
        audit(actor, "segment.update", "segment", segment.id, name=segment.name, changes=changed, rule=segment.rule,
              old={k: old[k] for k in changed}, new={k: getattr(segment, k) for k in changed})
    return changed


def _users_of(segment: Segment) -> list[str]:
    """What still needs the segment: campaigns enrolled from it, broadcasts not yet sent to it."""
    users = [f"campaign '{name}'" for name in db.session.execute(
        select(Campaign.name).where(Campaign.segment_id == segment.id).order_by(Campaign.name)).scalars()]
    waiting = db.session.execute(select(Broadcast.name, Broadcast.segment_ids)
                                 .where(Broadcast.status == "draft").order_by(Broadcast.name)).all()
    return users + [f"broadcast '{name}'" for name, ids in waiting if segment.id in (ids or [])]


def delete_segment(actor: Actor, segment: Segment) -> None:
    """Delete a segment (its contacts are untouched), audited with the rule it held. One that a
    campaign or a draft broadcast still needs is refused (Conflict ``segment_in_use``)."""
    users = _users_of(segment)
    if users:
        raise Conflict(f"'{segment.name}' is used by {', '.join(users)} and cannot be deleted.",
                       code="segment_in_use")
    audit(actor, "segment.delete", "segment", segment.id, name=segment.name, rule=segment.rule)
    db.session.delete(segment)
    db.session.flush()


def get_segment(segment_id: int) -> Segment:
    """The segment with this id; NotFound otherwise."""
    segment = db.session.get(Segment, segment_id) if 0 < segment_id < 2**63 else None
    if segment is None:
        raise NotFound(f"No segment with id {segment_id}.")
    return segment


def list_segments() -> list[Segment]:
    """Every segment, by name."""
    return list(db.session.execute(select(Segment).order_by(Segment.name, Segment.id)).scalars())


def _where(rule, when: RuleClock | None) -> ColumnElement[bool]:
    return rule_condition(rule, when or rule_clock())


def count_matching(rule, when: RuleClock | None = None) -> int:
    """How many contacts the rule matches now. ValidationFailed when the rule is not valid."""
    return db.session.execute(select(func.count()).select_from(Contact).where(_where(rule, when))).scalar_one()


def sample_matching(rule, limit: int = SAMPLE_SIZE, when: RuleClock | None = None) -> list[int]:
    """The ids of the first ``limit`` matching contacts, lowest first."""
    return list(db.session.execute(select(Contact.id).where(_where(rule, when)).order_by(Contact.id)
                                   .limit(limit)).scalars())


def matching_contacts(rule, limit: int = SAMPLE_SIZE) -> list[Contact]:
    """The first ``limit`` matching contacts themselves (for pages that show names), lowest id first."""
    return list(db.session.execute(select(Contact).where(_where(rule, None)).order_by(Contact.id)
                                   .limit(limit)).scalars())


def preview_rule(rule) -> SegmentPreview:
    """Count and sample of a rule that need not be saved; both read at the same "today"."""
    when = rule_clock()
    return SegmentPreview(count=count_matching(rule, when), sample=sample_matching(rule, when=when))


def segments_of_contact(contact: Contact) -> list[Segment]:
    """The segments the contact is in now, by name. A stored rule that no longer checks is skipped."""
    when = rule_clock()
    found = []
    segments = list_segments()
    for start in range(0, len(segments), SEGMENTS_PER_QUERY):
        part, columns = [], []
        for segment in segments[start:start + SEGMENTS_PER_QUERY]:
            try:
                condition = rule_condition(segment.rule, when)
            except ValidationFailed:
                continue
            part.append(segment)
            columns.append(select(literal(1)).where(Contact.id == contact.id, condition).exists())
        if columns:
            row = db.session.execute(select(*columns)).one()
            found += [segment for segment, inside in zip(part, row, strict=True) if inside]
    return found


def known_tags(limit: int = 500) -> list[str]:
    """Tags in use (as the index holds them: case-folded), for the builder to offer."""
    return list(db.session.execute(select(ContactTag.tag).distinct().order_by(ContactTag.tag).limit(limit)).scalars())


def known_field_names(limit: int = 500) -> list[str]:
    """Form field names in use, for the builder to offer."""
    return list(db.session.execute(select(ContactField.name).distinct().order_by(ContactField.name)
                                   .limit(limit)).scalars())
