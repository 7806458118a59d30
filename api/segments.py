"""Segments: stored rules over contacts — create, list, read (with a sample), preview, change, delete."""
from __future__ import annotations

from messaging.audience import segments as segment_core
from messaging.db import db
from messaging.errors import NotFound
from messaging.models import Segment

from .auth import current_actor
from .registry import operation
from .schemas import MAX_ID
from .segment_schemas import (
    SegmentDetailOut,
    SegmentIn,
    SegmentListOut,
    SegmentOut,
    SegmentPatch,
    SegmentPreviewIn,
    SegmentPreviewOut,
)


def get_segment(segment_id: int) -> Segment:
    if not 0 < segment_id <= MAX_ID:
        raise NotFound(f"No segment with id {segment_id}.")
    return segment_core.get_segment(segment_id)


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(id=segment.id, name=segment.name, rule=segment.rule,
                      count=segment_core.count_matching(segment.rule))


@operation("/segments", "POST", summary="Create a segment", tag="segments", status=201, request_body=SegmentIn,
           response=SegmentOut, errors=(422,))
def create_segment(body: SegmentIn) -> SegmentOut:
    """The rule is checked and stored in canonical form; `count` is how many contacts it matches now.
    A segment stores no members: its contacts are found each time it is read. Audited."""
    segment = segment_core.create_segment(current_actor(), body.name, body.rule)
    answer = segment_out(segment)
    db.session.commit()
    return answer


@operation("/segments", "GET", summary="List segments", tag="segments", response=SegmentListOut)
def list_segments() -> SegmentListOut:
    """Every segment, by name, each with its count now."""
    return SegmentListOut(segments=[segment_out(s) for s in segment_core.list_segments()])


@operation("/segments/preview", "POST", summary="Count a rule without saving it", tag="segments",
           request_body=SegmentPreviewIn, response=SegmentPreviewOut)
def preview_segment(body: SegmentPreviewIn) -> SegmentPreviewOut:
    """How many contacts the rule matches now and the lowest 10 of their ids. Stores nothing."""
    preview = segment_core.preview_rule(body.rule)
    db.session.rollback()  # reading the settings may have created their row: a preview writes nothing
    return SegmentPreviewOut(count=preview.count, sample=preview.sample)


@operation("/segments/<int:segment_id>", "GET", summary="Read a segment", tag="segments",
           response=SegmentDetailOut, errors=(404,))
def read_segment(segment_id: int) -> SegmentDetailOut:
    """The segment, its count now, and `sample`: the 10 lowest matching contact ids."""
    segment = get_segment(segment_id)
    preview = segment_core.preview_rule(segment.rule)
    return SegmentDetailOut(id=segment.id, name=segment.name, rule=segment.rule, count=preview.count,
                            sample=preview.sample)


@operation("/segments/<int:segment_id>", "PATCH", summary="Change a segment", tag="segments",
           request_body=SegmentPatch, response=SegmentOut, errors=(404,))
def update_segment(segment_id: int, body: SegmentPatch) -> SegmentOut:
    """Rename it and/or replace its rule; what is not given stays. Audited."""
    segment = get_segment(segment_id)
    segment_core.update_segment(current_actor(), segment, name=body.name, rule=body.rule)
    answer = segment_out(segment)
    db.session.commit()
    return answer


@operation("/segments/<int:segment_id>", "DELETE", summary="Delete a segment", tag="segments", status=204,
           errors=(404,))
def delete_segment(segment_id: int) -> None:
    """The segment goes; its contacts are untouched. Audited."""
    segment_core.delete_segment(current_actor(), get_segment(segment_id))
    db.session.commit()
