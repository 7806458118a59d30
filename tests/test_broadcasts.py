"""Broadcasts through the core: the audience counts add up, the outbox holds exactly ``to_send``,
a secure broadcast's notices carry nothing of the content, pause holds and cancel stops."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from messaging.audit import SYSTEM, Actor
from messaging.db import db
from messaging.delivery.engine import dispatch_until_idle
from messaging.delivery.transports.outbox import read_outbox
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.models import Broadcast, BroadcastRecipient, Delivery, Message
from messaging.outreach.broadcast_fanout import run_broadcasts
from messaging.outreach.broadcast_states import (
    cancel_broadcast,
    pause_broadcast,
    resume_broadcast,
    send_broadcast,
    suppressed_recipients,
)
from messaging.outreach.broadcasts import broadcast_view, create_broadcast
from messaging.settings import change_setting
from tests.support.outreach import person, tag_segment, template
from tests.support.records import audit_entries

STAFF = Actor(label="staff@example.org", role="staff")


def _audience(ctx):
    """Two overlapping segments (a, b) over contacts each in one outcome, for a marketing template."""
    template("spring-offer", "Hello {{ first_name }}, our spring offer: 20% off.", mode="standard",
             situation="marketing")
    people = {
        "both": person("Both", tags=["a", "b"], phone="+15005550101", marketing=["sms"]),
        "only_a": person("Ada", tags=["a"], phone="+15005550102", marketing=["sms"]),
        "stopped": person("Stopped", tags=["a"], phone="+15005550103", marketing=["sms"], opted_out=["sms"]),
        "no_marketing": person("Nomark", tags=["b"], phone="+15005550104"),
        "no_phone": person("Mailonly", tags=["b"], email="mail@example.org", marketing=["sms"]),
        "only_b": person("Bea", tags=["b"], phone="+15005550106", marketing=["sms"]),
    }
    segments = [tag_segment("Tag a", "a"), tag_segment("Tag b", "b")]
    db.session.commit()
    return people, segments


def _fan_out_and_deliver():
    while True:
        result = run_broadcasts(max_seconds=30)
        if not (result.queued or result.finished):
            break
    dispatch_until_idle(max_seconds=30)
    run_broadcasts(max_seconds=5)


def test_overlapping_segments_count_every_pair_once_and_the_outbox_holds_exactly_to_send(ctx):
    people, segments = _audience(ctx)
    broadcast = create_broadcast(SYSTEM, name="Spring", segment_ids=segments, template_slug="spring-offer")
    db.session.commit()
    view = broadcast_view(broadcast)
    assert view["status"] == "draft"
    assert view["audience"] == {"matched": 7, "duplicates": 1, "opted_out": 1, "no_consent": 1, "unreachable": 1,
                                "frequency_capped": 0, "to_send": 3}
    audience = view["audience"]
    assert audience["matched"] == sum(v for k, v in audience.items() if k != "matched")

    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    assert broadcast.status == "sending"
    _fan_out_and_deliver()

    outbox = read_outbox()
    expected = {people[k].phone for k in ("both", "only_a", "only_b")}
    assert sorted(entry["to"] for entry in outbox) == sorted(expected)  # each once, nobody else
    assert all("spring offer" in entry["body"] for entry in outbox)
    view = broadcast_view(db.session.get(Broadcast, broadcast.id))
    assert view["status"] == "sent"
    assert view["audience"]["to_send"] == 3 and view["audience"]["matched"] == 7
    assert view["progress"]["sent"] == 3 and view["progress"]["queued"] == 0
    suppressed = suppressed_recipients(broadcast, 1)
    assert {(c.first_name, outcome) for c, outcome, _ in suppressed.items} == {
        ("Stopped", "opted_out"), ("Nomark", "no_consent"), ("Mailonly", "unreachable")}
    reasons = {c.first_name: reason for c, _, reason in suppressed.items}
    assert reasons["Nomark"] == "no marketing consent for sms"


def test_the_counts_freeze_at_send(ctx):
    people, segments = _audience(ctx)
    broadcast = create_broadcast(SYSTEM, name="Spring", segment_ids=segments, template_slug="spring-offer")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    person("Late", tags=["a"], phone="+15005550199", marketing=["sms"])  # joins after /send
    db.session.commit()
    assert broadcast_view(broadcast)["audience"]["to_send"] == 3
    _fan_out_and_deliver()
    assert "+15005550199" not in {entry["to"] for entry in read_outbox()}


def test_a_secure_broadcast_sends_notices_with_a_link_and_none_of_the_content(ctx):
    template("results-ready", "Your cholesterol result is 6.2 mmol/L.", mode="secure", situation="healthcare")
    person("Rita", tags=["lab"], phone="+15005550111")
    person("Sam", tags=["lab"], phone="+15005550112")
    segment = tag_segment("Lab", "lab")
    broadcast = create_broadcast(SYSTEM, name="Results", segment_ids=[segment], template_slug="results-ready")
    assert broadcast_view(broadcast)["decision"]["reason"] == "secure — set by template 'Results Ready'"
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    _fan_out_and_deliver()
    outbox = read_outbox()
    assert len(outbox) == 2
    for entry in outbox:
        assert "/m/" in entry["body"]
        assert "cholesterol" not in entry["body"] and "6.2" not in entry["body"]
    messages = db.session.execute(select(Message).where(Message.broadcast_id == broadcast.id)).scalars().all()
    assert {m.mode for m in messages} == {"secure"} and all(m.expires_at for m in messages)


def test_the_override_is_the_one_off_level_named_after_the_broadcast(ctx):
    template("note", "A short note.", mode="standard")
    person("Olga", tags=["n"], phone="+15005550121")
    segment = tag_segment("N", "n")
    broadcast = create_broadcast(SYSTEM, name="March", segment_ids=[segment], template_slug="note", mode="secure")
    decision = broadcast_view(broadcast)["decision"]
    assert decision["decided_by"] == "one_off" and decision["reason"] == "secure — set by broadcast 'March'"


def test_a_blocked_recommendation_needs_an_admin_with_a_reason(ctx):
    change_setting(SYSTEM, "enforce_recommendations", "block")
    template("plain-results", "Your results are normal.", mode="standard", situation="healthcare")
    person("Hal", tags=["h"], phone="+15005550131")
    segment = tag_segment("H", "h")
    with pytest.raises(PolicyRefused):
        create_broadcast(STAFF, name="Plain", segment_ids=[segment], template_slug="plain-results")
    with pytest.raises(PolicyRefused):
        create_broadcast(SYSTEM, name="Plain", segment_ids=[segment], template_slug="plain-results")
    broadcast = create_broadcast(SYSTEM, name="Plain", segment_ids=[segment], template_slug="plain-results",
                                 override_reason="the clinic lead approved standard for normal results")
    send_broadcast(STAFF, broadcast)  # the admin's override stands for whoever sends it
    db.session.commit()
    assert broadcast.status == "sending"


def test_bad_input_names_each_field(ctx):
    with pytest.raises(ValidationFailed) as caught:
        create_broadcast(SYSTEM, name=" ", segment_ids=[], template_slug="nope", mode="loud")
    assert set(caught.value.fields) >= {"name", "segment_ids", "template", "mode"}
    with pytest.raises(ValidationFailed) as caught:
        create_broadcast(SYSTEM, name="X", segment_ids=[999], template_slug="lab-results")
    assert "999" in caught.value.fields["segment_ids"]


def test_pause_holds_queued_deliveries_and_resume_and_cancel_follow_the_states(ctx):
    template("hello", "Hello {{ first_name }}.", mode="standard")
    for n in range(5):
        person(f"P{n}", tags=["p"], phone=f"+1500555014{n}")
    segment = tag_segment("P", "p")
    broadcast = create_broadcast(SYSTEM, name="Hello", segment_ids=[segment], template_slug="hello")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    run_broadcasts()
    pause_broadcast(SYSTEM, broadcast)
    db.session.commit()
    assert dispatch_until_idle(max_seconds=5).claimed == 0  # paused: nothing is claimed
    assert read_outbox() == []
    with pytest.raises(Conflict) as caught:
        send_broadcast(SYSTEM, broadcast)
    assert caught.value.code == "invalid_state"
    resume_broadcast(SYSTEM, broadcast)
    db.session.commit()
    _fan_out_and_deliver()
    assert len(read_outbox()) == 5
    with pytest.raises(Conflict):
        cancel_broadcast(SYSTEM, db.session.get(Broadcast, broadcast.id))  # sent: nothing left to cancel
    db.session.rollback()
    moves = [(e.action, e.detail["old"], e.detail["new"]) for e in audit_entries() if e.action in (
        "broadcast.send", "broadcast.pause", "broadcast.resume", "broadcast.cancel")]
    assert moves == [("broadcast.send", {"status": "draft"}, {"status": "sending"}),
                     ("broadcast.pause", {"status": "sending"}, {"status": "paused"}),
                     ("broadcast.resume", {"status": "paused"}, {"status": "sending"})]


def test_a_cancel_records_the_status_it_moved_from_even_when_someone_else_moved_it_first(ctx):
    template("hello", "Hello {{ first_name }}.", mode="standard")
    person("P", tags=["p"], phone="+15005550149")
    broadcast = create_broadcast(SYSTEM, name="Hello", segment_ids=[tag_segment("P", "p")], template_slug="hello")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    assert broadcast.status == "sending"
    # Another person pauses it on another connection; this session's object still says "sending".
    with db.engine.begin() as other:
        other.execute(update(Broadcast).where(Broadcast.id == broadcast.id).values(status="paused"))
    cancel_broadcast(STAFF, broadcast)
    db.session.commit()
    [entry] = audit_entries("broadcast.cancel")
    assert (entry.actor, entry.detail["old"], entry.detail["new"]) == (
        "staff@example.org", {"status": "paused"}, {"status": "cancelled"})


def test_cancel_stops_what_has_not_gone_out(ctx):
    template("hello", "Hello {{ first_name }}.", mode="standard")
    for n in range(4):
        person(f"P{n}", tags=["p"], phone=f"+1500555015{n}")
    segment = tag_segment("P", "p")
    broadcast = create_broadcast(SYSTEM, name="Hello", segment_ids=[segment], template_slug="hello")
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    run_broadcasts()
    cancel_broadcast(SYSTEM, broadcast)
    db.session.commit()
    dispatch_until_idle(max_seconds=5)
    assert read_outbox() == []
    statuses = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    assert dict(statuses) == {"cancelled": 4}


def test_a_broadcast_at_a_time_waits_for_it(ctx, monkeypatch):
    from tests.support.clock import StoppedClock

    clock = StoppedClock(monkeypatch)
    start = clock.at(datetime(2026, 12, 2, 9, 0))
    template("hello", "Hello {{ first_name }}.", mode="standard")
    person("Tess", tags=["t"], phone="+15005550161")
    segment = tag_segment("T", "t")
    broadcast = create_broadcast(SYSTEM, name="Later", segment_ids=[segment], template_slug="hello",
                                 send_at=start + timedelta(hours=2))
    send_broadcast(SYSTEM, broadcast)
    db.session.commit()
    assert broadcast.status == "scheduled"
    assert run_broadcasts().queued == 0
    clock.at(start + timedelta(hours=2, minutes=1))
    assert run_broadcasts().queued == 1


def test_the_frequency_cap_suppresses_a_second_broadcast_the_same_day(ctx):
    change_setting(SYSTEM, "frequency_cap", "1/day, 2/week")
    template("hello", "Hello {{ first_name }}.", mode="standard")
    person("Cap", tags=["c"], phone="+15005550171")
    person("Free", tags=["d"], phone="+15005550172")
    first = create_broadcast(SYSTEM, name="First", segment_ids=[tag_segment("C", "c")], template_slug="hello")
    send_broadcast(SYSTEM, first)
    db.session.commit()
    run_broadcasts()
    second = create_broadcast(SYSTEM, name="Second", segment_ids=[first.segment_ids[0], tag_segment("D", "d")],
                              template_slug="hello")
    db.session.commit()
    assert broadcast_view(second)["audience"]["frequency_capped"] == 1
    send_broadcast(SYSTEM, second)
    db.session.commit()
    run_broadcasts()
    recipients = dict(db.session.execute(select(BroadcastRecipient.outcome, func.count())
                                         .where(BroadcastRecipient.broadcast_id == second.id)
                                         .group_by(BroadcastRecipient.outcome)).all())
    assert recipients == {"frequency_capped": 1, "to_send": 1}


def test_a_segment_or_template_a_draft_broadcast_needs_cannot_be_deleted(ctx):
    from messaging.audience.segments import delete_segment, get_segment
    from messaging.policy.templates import delete_template

    note = template("note", "A short note.", mode="standard")
    segment = tag_segment("N", "n")
    create_broadcast(SYSTEM, name="March", segment_ids=[segment], template_slug="note")
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        delete_segment(SYSTEM, get_segment(segment))
    assert caught.value.code == "segment_in_use" and "broadcast 'March'" in caught.value.message
    with pytest.raises(Conflict) as caught:
        delete_template(SYSTEM, note)
    assert caught.value.code == "template_in_use" and "broadcast 'March'" in caught.value.message
