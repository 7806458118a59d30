"""Request and response bodies of the segment operations (they feed the OpenAPI document like api/schemas.py)."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from messaging.audience.segment_rules import MAX_CONDITIONS, OPS
from messaging.audience.segments import MAX_NAME_LENGTH, SAMPLE_SIZE

from .schemas import Body

RULE_DESCRIPTION = (
    'A rule: {"match": "all"|"any", "conditions": [...]}, at least one condition. A condition is '
    '{"tag": TEXT} (has the tag; with "negate": true, lacks it), {"field": NAME, "op": OP, "value": VALUE} '
    f"(a form field; OP one of {', '.join(OPS)}; exists and not_exists take no value), "
    '{"consent": "CHANNEL:PURPOSE", "negate": BOOL} (the current consent state), {"opted_out": BOOL} '
    "(sms transactional consent withdrawn), or a rule (one nested level). A missing field is false for every op "
    "but not_exists; gt/lt compare numbers (a stored text such as \"15\" counts); before/after compare ISO "
    'dates, the value a YYYY-MM-DD date or "today", "today+30d", "today-7d" (the organisation\'s today); '
    "eq, ne, contains and tags ignore case. NAME may be contact.language, contact.timezone, "
    "contact.created_at or contact.date_of_birth for the contact's own columns. A rule that is not valid "
    "is a 422 whose `fields` name each problem by path, e.g. `rule.conditions.2.op`.")
RULE_SCHEMA = {
    "type": "object", "description": RULE_DESCRIPTION, "required": ["match", "conditions"],
    "properties": {"match": {"type": "string", "enum": ["all", "any"]},
                   "conditions": {"type": "array", "minItems": 1, "maxItems": MAX_CONDITIONS,
                                  "items": {"type": "object"}}},
    "examples": [{"match": "all", "conditions": [{"tag": "diabetic"},
                                                 {"field": "next_checkup", "op": "before", "value": "today+30d"},
                                                 {"consent": "sms:marketing", "negate": False}]}],
}
RuleIn = Annotated[dict[str, Any], WithJsonSchema(RULE_SCHEMA, mode="validation")]
RuleOut = Annotated[dict[str, Any], WithJsonSchema(RULE_SCHEMA, mode="serialization")]
NAME_DESCRIPTION = (f"Required, at most {MAX_NAME_LENGTH} characters, unique (ignoring case); a name in use is "
                    "a 422 on `name`.")


class SegmentIn(Body):
    """A segment to create: a name and its rule."""

    name: str = Field(description=NAME_DESCRIPTION)
    rule: RuleIn


class SegmentPatch(Body):
    """Changes to a segment: only what is given changes."""

    name: str | None = Field(None, description=NAME_DESCRIPTION)
    rule: RuleIn | None = None


class SegmentPreviewIn(Body):
    """A rule to count, not saved."""

    rule: RuleIn


class SegmentOut(BaseModel):
    """A segment: its stored rule (in canonical form) and how many contacts it matches now."""

    id: int
    name: str
    rule: RuleOut
    count: int = Field(description="Contacts the rule matches now.")


class SegmentDetailOut(SegmentOut):
    """A segment with a sample of its contacts."""

    sample: list[int] = Field(description=f"The {SAMPLE_SIZE} lowest matching contact ids.")


class SegmentListOut(BaseModel):
    """Every segment, by name, with its count."""

    segments: list[SegmentOut]


class SegmentPreviewOut(BaseModel):
    """How many contacts a rule matches now, and the lowest of their ids."""

    count: int
    sample: list[int] = Field(description=f"The {SAMPLE_SIZE} lowest matching contact ids.")
