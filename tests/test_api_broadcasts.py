"""The broadcast operations of API v1, as a program calling them meets them: shapes, statuses and error codes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from messaging import clock
from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_until_idle
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import AuditEntry, Broadcast, Delivery, Message, Template
from messaging.outreach.broadcast_fanout import run_broadcasts
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.api import assert_error, caller

BROADCAST_KEYS = {"id", "name", "status", "segment_ids", "template", "situation", "mode", "require_pin", "send_at",
                  "created_at", "audience", "decision", "progress"}
AUDIENCE_KEYS = {"matched", "duplicates", "opted_out", "no_consent", "unreachable", "frequency_capped", "to_send"}
DECISION_KEYS = {"mode", "require_pin", "decided_by", "pin_decided_by", "reason", "recommendation", "situation",
                 "warnings", "blocked", "blocked_by"}
PROGRESS_KEYS = {"queued", "sent", "delivered", "failed", "suppressed", "opened", "verified", "viewed", "replied"}


@pytest.fixture
def api(app):
    return caller(app, "staff")


@pytest.fixture
def audience(app) -> dict:
    """Two overlapping segments over one contact of each kind, and a marketing template for SMS.

    VIP: Ann, Bob, Eve; Clinic: Ann (again), Cy (opted out), Di (no phone). Marketing needs sms:marketing,
    which Eve lacks. So matched 6 = to_send 2 (Ann, Bob) + duplicates 1 + opted_out 1 + no_consent 1 +
    unreachable 1."""
    with app.app_context():
        people = {
            "ann": make_contact(first_name="Ann", tags=["vip", "clinic"], marketing_consent=True),
            "bob": make_contact(first_name="Bob", tags=["vip"], marketing_consent=True),
            "eve": make_contact(first_name="Eve", tags=["vip"]),
            "cy": make_contact(first_name="Cy", tags=["clinic"], marketing_consent=True, sms_consent=False),
            "di": make_contact(first_name="Di", tags=["clinic"], marketing_consent=True, phone=None),
        }
        vip = create_segment(SYSTEM, "VIP", {"match": "all", "conditions": [{"tag": "vip"}]})
        clinic = create_segment(SYSTEM, "Clinic", {"match": "all", "conditions": [{"tag": "clinic"}]})
        make_template(slug="spring-offer", situation_key="marketing", body="Spring offer for {{ first_name }}")
        db.session.commit()
        return {"segments": [vip.id, clinic.id], **{name: c.id for name, c in people.items()},
                "phones": {name: c.phone for name, c in people.items()}}


def body(audience: dict, **fields) -> dict:
    return {"name": "Spring offer", "segment_ids": audience["segments"], "template": "spring-offer", **fields}


def created(api, audience: dict, **fields) -> dict:
    response = api.post("/broadcasts", json=body(audience, **fields))
    assert response.status_code == 201, response.json
    return response.json


def test_create_answers_201_draft_with_every_count_and_the_decision(app, api, audience):
    answer = created(api, audience)
    assert set(answer) == BROADCAST_KEYS
    assert answer["status"] == "draft"
    assert answer["segment_ids"] == audience["segments"]
    assert (answer["template"], answer["situation"], answer["mode"], answer["require_pin"]) == \
        ("spring-offer", "marketing", "inherit", None)
    assert answer["audience"] == {"matched": 6, "duplicates": 1, "opted_out": 1, "no_consent": 1, "unreachable": 1,
                                  "frequency_capped": 0, "to_send": 2}
    assert set(answer["decision"]) == DECISION_KEYS
    decision = answer["decision"]
    assert (decision["mode"], decision["decided_by"], decision["recommendation"], decision["situation"]) == \
        ("secure", "global", "standard_opt_in", "marketing")
    assert decision["reason"] == "secure — set by the global default"
    assert decision["blocked"] is False and decision["blocked_by"] == []
    assert answer["progress"] == dict.fromkeys(PROGRESS_KEYS, 0)
    # GET answers the same shape and the same numbers; nothing was sent.
    assert api.get(f"/broadcasts/{answer['id']}").json == answer
    with app.app_context():
        assert db.session.execute(db.select(Message)).first() is None
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="broadcast.create")).scalar_one()
        assert entry.target_id == str(answer["id"]) and entry.actor.startswith("api-key:")


def test_a_drafts_counts_are_live_and_sending_freezes_them(app, api, audience):
    draft = created(api, audience)
    with app.app_context():
        make_contact(first_name="Flo", tags=["vip"], marketing_consent=True)
    assert api.get(f"/broadcasts/{draft['id']}").json["audience"]["to_send"] == 3

    sent = api.post(f"/broadcasts/{draft['id']}/send")
    assert sent.status_code == 202, sent.json
    assert set(sent.json) == BROADCAST_KEYS
    assert sent.json["status"] == "sending"
    assert sent.json["audience"]["to_send"] == 3
    with app.app_context():
        make_contact(first_name="Gus", tags=["vip"], marketing_consent=True)
    assert api.get(f"/broadcasts/{draft['id']}").json["audience"] == {
        "matched": 7, "duplicates": 1, "opted_out": 1, "no_consent": 1, "unreachable": 1, "frequency_capped": 0,
        "to_send": 3}


def test_the_mode_override_is_the_one_off_level_named_after_the_broadcast(api, audience):
    answer = created(api, audience, mode="standard", require_pin="false")
    decision = answer["decision"]
    assert (decision["mode"], decision["decided_by"], decision["require_pin"]) == ("standard", "one_off", False)
    assert decision["reason"] == "standard — set by broadcast 'Spring offer'"
    assert (answer["mode"], answer["require_pin"]) == ("standard", False)


def test_send_at_schedules_and_the_fan_out_then_queues_exactly_to_send(app, api, audience):
    later = (clock.utcnow() + timedelta(hours=2)).replace(microsecond=0)
    draft = created(api, audience, send_at=later.isoformat() + "+00:00")
    assert draft["send_at"] == later.isoformat() + "Z"
    scheduled = api.post(f"/broadcasts/{draft['id']}/send")
    assert scheduled.status_code == 202
    assert scheduled.json["status"] == "scheduled"
    with app.app_context():
        run_broadcasts(now=clock.utcnow())  # not due yet: nothing is queued
        assert db.session.execute(db.select(Message)).first() is None
        run_broadcasts(now=later + timedelta(seconds=1))
        dispatch_until_idle(max_seconds=10)
        run_broadcasts(now=later + timedelta(seconds=2))
        received = {name for name in ("ann", "bob", "eve", "cy") if read_outbox(audience["phones"][name])}
    assert received == {"ann", "bob"}
    answer = api.get(f"/broadcasts/{draft['id']}").json
    assert answer["status"] == "sent"
    assert answer["progress"]["queued"] == 0
    assert answer["progress"]["sent"] + answer["progress"]["delivered"] == 2


def test_pause_resume_cancel_answer_200_and_a_move_not_allowed_409_invalid_state(app, api, audience):
    draft = created(api, audience)
    path = f"/broadcasts/{draft['id']}"
    for action in ("pause", "resume"):
        assert_error(api.post(f"{path}/{action}"), 409, "invalid_state")
    assert api.post(f"{path}/send").status_code == 202
    with app.app_context():
        run_broadcasts()  # two messages queued, not yet dispatched
    assert_error(api.post(f"{path}/send"), 409, "invalid_state")
    assert_error(api.post(f"{path}/resume"), 409, "invalid_state")

    paused = api.post(f"{path}/pause")
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert set(paused.json) == BROADCAST_KEYS
    with app.app_context():
        dispatch_until_idle(max_seconds=5)  # a paused broadcast's deliveries are not claimed
        assert read_outbox(audience["phones"]["ann"]) == []
        held = db.session.execute(db.select(Delivery.status)).scalars().all()
        assert held and set(held) == {"paused"}
    assert_error(api.post(f"{path}/pause"), 409, "invalid_state")

    resumed = api.post(f"{path}/resume")
    assert resumed.status_code == 200 and resumed.json["status"] == "sending"
    cancelled = api.post(f"{path}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["progress"]["queued"] == 0
    for action in ("send", "pause", "resume", "cancel"):
        error = assert_error(api.post(f"{path}/{action}"), 409, "invalid_state")
        assert "cancelled" in error["message"]
    with app.app_context():
        dispatch_until_idle(max_seconds=5)
        assert read_outbox(audience["phones"]["ann"]) == []


def test_a_blocked_decision_is_409_blocked_by_policy_unless_an_admin_gives_a_reason(app, api, audience):
    with app.app_context():
        get_settings().enforce_recommendations = "block"
        make_template(slug="lab-news", situation_key="healthcare", body="Your results are in, {{ first_name }}")
        db.session.commit()
    standard_health = {"template": "lab-news", "mode": "standard", "name": "Lab news"}
    refused = assert_error(api.post("/broadcasts", json=body(audience, **standard_health)), 409, "blocked_by_policy")
    assert "admin" in refused["message"]
    admin = caller(app, "admin")
    assert_error(admin.post("/broadcasts", json=body(audience, **standard_health)), 409, "blocked_by_policy",
                 fields=("override_reason",))
    answer = admin.post("/broadcasts", json=body(audience, **standard_health,
                                                 override_reason="Families asked for plain text"))
    assert answer.status_code == 201, answer.json
    assert answer.json["decision"]["blocked"] is True and answer.json["decision"]["mode"] == "standard"
    with app.app_context():
        assert db.session.execute(db.select(Broadcast).filter_by(name="Lab news")).scalar_one().override_reason == \
            "Families asked for plain text"
        override = db.session.execute(db.select(AuditEntry).filter_by(action="broadcast.policy_override")).scalar_one()
        assert override.actor.startswith("api-key:")
    # The refused attempts left nothing behind.
    assert [b["name"] for b in api.get("/broadcasts").json["broadcasts"]] == ["Lab news"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"segment_ids": [999]}, "segment_ids"),
    ({"segment_ids": []}, "segment_ids"),
    ({"segment_ids": ["one"]}, "segment_ids.0"),
    ({"template": "no-such-template"}, "template"),
    ({"situation": "no-such-situation"}, "situation"),
    ({"mode": "loud"}, "mode"),
    ({"require_pin": "sometimes"}, "require_pin"),
    ({"name": ""}, "name"),
    ({"send_at": "next tuesday"}, "send_at"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_input_is_422_on_its_field(app, api, audience, fields, field):
    assert_error(api.post("/broadcasts", json=body(audience, **fields)), 422, "invalid", fields=(field,))
    with app.app_context():
        assert db.session.execute(db.select(Broadcast)).first() is None


def test_a_name_in_use_is_422(api, audience):
    created(api, audience)
    assert_error(api.post("/broadcasts", json=body(audience)), 422, "invalid", fields=("name",))


@pytest.mark.parametrize("path", ["/broadcasts/4242", "/broadcasts/4242/send", "/broadcasts/4242/pause",
                                  "/broadcasts/4242/resume", "/broadcasts/4242/cancel", "/broadcasts/99999999999"])
def test_an_unknown_broadcast_is_404(api, path):
    response = api.get(path) if path.count("/") == 2 else api.post(path)
    assert_error(response, 404, "not_found")


def test_every_operation_needs_a_key(app, audience):
    anonymous = caller(app, "staff")
    anonymous.key = None
    assert_error(anonymous.get("/broadcasts"), 401, "unauthorized")
    assert_error(anonymous.post("/broadcasts", json=body(audience)), 401, "unauthorized")


def test_the_list_is_paginated_newest_first(app, api, audience):
    for n in range(3):
        created(api, audience, name=f"Wave {n}")
    answer = api.get("/broadcasts")
    assert answer.status_code == 200
    assert set(answer.json) == {"broadcasts", "page", "pages", "per_page", "total"}
    assert [b["name"] for b in answer.json["broadcasts"]] == ["Wave 2", "Wave 1", "Wave 0"]
    assert (answer.json["page"], answer.json["pages"], answer.json["total"]) == (1, 1, 3)
    assert set(answer.json["broadcasts"][0]) == {"id", "name", "status", "template", "send_at", "created_at",
                                                 "to_send"}
    assert answer.json["broadcasts"][0]["to_send"] is None  # a draft's audience is live: read the broadcast
    assert api.get("/broadcasts?page=40").json["page"] == 1  # past the end: the last page
    with app.app_context():
        template_id = db.session.execute(db.select(Template.id).filter_by(slug="spring-offer")).scalar_one()
        db.session.add_all([Broadcast(name=f"Old {n}", segment_ids=audience["segments"], template_id=template_id)
                            for n in range(60)])
        db.session.commit()
    first, second = api.get("/broadcasts").json, api.get("/broadcasts?page=2").json
    assert (first["pages"], first["total"], len(first["broadcasts"])) == (2, 63, first["per_page"])
    assert len(second["broadcasts"]) == 63 - first["per_page"]
    assert not {b["id"] for b in first["broadcasts"]} & {b["id"] for b in second["broadcasts"]}


def test_the_answers_match_the_openapi_document(app, api, audience):
    document = app.test_client().get("/api/v1/openapi.json").json
    for path, method in [("/api/v1/broadcasts", "post"), ("/api/v1/broadcasts", "get"),
                         ("/api/v1/broadcasts/{broadcast_id}", "get")] + [
            (f"/api/v1/broadcasts/{{broadcast_id}}/{action}", "post") for action in ("send", "pause", "resume",
                                                                                     "cancel")]:
        assert method in document["paths"][path], (method, path)
    assert "201" in document["paths"]["/api/v1/broadcasts"]["post"]["responses"]
    assert "409" in document["paths"]["/api/v1/broadcasts"]["post"]["responses"]
    assert "202" in document["paths"]["/api/v1/broadcasts/{broadcast_id}/send"]["post"]["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["BroadcastIn"]["properties"]["mode"]["enum"] == ["inherit", "secure", "standard"]
    assert set(schemas["AudienceOut"]["properties"]) == AUDIENCE_KEYS
    assert set(schemas["ProgressOut"]["properties"]) == PROGRESS_KEYS

    answer = created(api, audience)
    answers = {"BroadcastOut": answer, "BroadcastListOut": api.get("/broadcasts").json}
    for name, value in answers.items():
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                          "components": document["components"]})
        assert list(validator.iter_errors(value)) == [], name
