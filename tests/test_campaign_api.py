"""The campaign operations of API v1 as a program meets them: the shapes, the status codes, the refusals."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from jsonschema import Draft202012Validator

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.client.inbound import receive_sms
from messaging.db import db
from messaging.models import AuditEntry, Campaign, Contact
from messaging.outreach.campaign_runner import run_campaigns_once
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.api import assert_error, caller

T0 = datetime(2030, 3, 4, 9, 0)
FUNNEL = {"queued", "sent", "delivered", "failed", "suppressed", "skipped", "opened", "verified", "viewed", "replied"}
DECISION = {"mode", "require_pin", "decided_by", "pin_decided_by", "reason", "recommendation", "situation",
            "warnings", "blocked", "blocked_by"}


@pytest.fixture
def world(app):
    """A segment of three tagged contacts and two SMS templates."""
    with app.app_context():
        segment = create_segment(SYSTEM, "Recall", {"match": "all", "conditions": [{"tag": "recall"}]})
        db.session.commit()
        contacts = [make_contact(tags=["recall"], form_data={"appointment_at": "2030-03-20T09:00:00Z"}).id
                    for _ in range(3)]
        make_template(slug="hello", body="Hello {{ first_name }}")
        make_template(slug="results", situation_key="healthcare", body="Your results are in.")
        return {"segment_id": segment.id, "contacts": contacts}


def body(world, **fields) -> dict:
    return {"name": "Recall", "segment_id": world["segment_id"], "exit_on": ["reply"], "mode": "secure",
            "require_pin": False,
            "steps": [{"template": "hello", "delay": {"after": "enrolment", "minutes": 0}},
                      {"template": "hello", "mode": "standard", "delay": {"after": "previous", "minutes": 1440}},
                      {"template": "hello", "delay": {"field": "appointment_at", "minutes": -2880}}], **fields}


def run_pass(app, clock, moment):
    clock.at(moment)
    with app.app_context():
        return run_campaigns_once()


def validator(app, name):
    document = app.test_client().get("/api/v1/openapi.json").json
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_create_answers_201_draft_with_the_get_shape_and_each_steps_decision(app, world):
    api = caller(app)
    created = api.post("/campaigns", json=body(world))
    assert created.status_code == 201, created.json
    answer = created.json
    assert answer["status"] == "draft"
    assert {"status", "enrolled", "active", "completed", "exited", "steps"} <= set(answer)
    assert (answer["enrolled"], answer["active"], answer["completed"]) == (0, 0, 0)
    assert answer["exited"] == {"reply": 0, "view": 0, "opt_out": 0, "leave_segment": 0}
    assert [s["position"] for s in answer["steps"]] == [1, 2, 3]
    for step in answer["steps"]:
        assert set(step["funnel"]) == FUNNEL and set(step["funnel"].values()) == {0}
        assert DECISION <= set(step["decision"])
    assert [s["decision"]["reason"] for s in answer["steps"]] == [
        "secure — set by campaign 'Recall' step 1", "standard — set by campaign 'Recall' step 2",
        "secure — set by campaign 'Recall' step 3"]
    assert answer["steps"][2]["delay"] == {"field": "appointment_at", "minutes": -2880}
    assert api.get(f"/campaigns/{answer['id']}").json == answer
    assert not list(validator(app, "CampaignOut").iter_errors(answer))
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="campaign.create")).scalar_one()
        assert entry.target_id == str(answer["id"]) and entry.actor.startswith("api-key:")


def test_moves_answer_200_and_a_move_not_allowed_is_409_invalid_state(app, world, clock):
    clock.at(T0)
    api = caller(app)
    campaign_id = api.post("/campaigns", json=body(world)).json["id"]
    for action in ("pause", "resume"):
        assert_error(api.post(f"/campaigns/{campaign_id}/{action}"), 409, "invalid_state")
    activated = api.post(f"/campaigns/{campaign_id}/activate")
    assert activated.status_code == 200, activated.json
    assert (activated.json["status"], activated.json["enrolled"], activated.json["active"]) == ("active", 3, 3)
    assert_error(api.post(f"/campaigns/{campaign_id}/activate"), 409, "invalid_state")

    run_pass(app, clock, T0)
    read = api.get(f"/campaigns/{campaign_id}").json
    assert read["steps"][0]["funnel"]["queued"] == 3
    paused = api.post(f"/campaigns/{campaign_id}/pause")
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert api.post(f"/campaigns/{campaign_id}/resume").json["status"] == "active"
    archived = api.post(f"/campaigns/{campaign_id}/archive")
    assert archived.status_code == 200 and archived.json["status"] == "archived"
    assert archived.json["steps"][0]["funnel"]["queued"] == 0  # the unsent were cancelled
    for action in ("activate", "pause", "resume", "archive"):
        assert_error(api.post(f"/campaigns/{campaign_id}/{action}"), 409, "invalid_state")
    assert_error(api.post("/campaigns/999999/activate"), 404, "not_found")
    assert_error(api.get("/campaigns/999999"), 404, "not_found")


def test_enrolments_list_each_contacts_place_and_filter_by_contact(app, world, clock):
    clock.at(T0)
    api = caller(app)
    campaign_id = api.post("/campaigns", json=body(world)).json["id"]
    assert api.get(f"/campaigns/{campaign_id}/enrolments").json["enrolments"] == []
    api.post(f"/campaigns/{campaign_id}/activate")
    first, second, third = world["contacts"]
    listed = api.get(f"/campaigns/{campaign_id}/enrolments").json
    assert [e["contact_id"] for e in listed["enrolments"]] == [first, second, third]
    assert listed["enrolments"][0] == {"contact_id": first, "step": 1, "state": "active", "exit_reason": None,
                                       "next_due_at": None}
    run_pass(app, clock, T0)
    with app.app_context():
        receive_sms(db.session.get(Contact, first).phone, "Yes please")
        db.session.commit()
    run_pass(app, clock, T0 + timedelta(days=1, minutes=1))
    mine = api.get(f"/campaigns/{campaign_id}/enrolments", query_string={"contact_id": first})
    assert mine.status_code == 200
    assert mine.json["enrolments"] == [{"contact_id": first, "step": 2, "state": "exited", "exit_reason": "reply",
                                        "next_due_at": None}]
    theirs = api.get(f"/campaigns/{campaign_id}/enrolments", query_string={"contact_id": second}).json
    assert theirs["enrolments"][0]["step"] == 3
    assert theirs["enrolments"][0]["next_due_at"] == "2030-03-18T09:00:00Z"
    assert api.get(f"/campaigns/{campaign_id}/enrolments", query_string={"state": "exited"}).json["total"] == 1
    assert not list(validator(app, "EnrolmentListOut").iter_errors(theirs))
    assert_error(api.get(f"/campaigns/{campaign_id}/enrolments", query_string={"contact_id": "x"}), 422, "invalid",
                 ("contact_id",))
    assert_error(api.get(f"/campaigns/{campaign_id}/enrolments", query_string={"state": "gone"}), 422, "invalid",
                 ("state",))
    read = api.get(f"/campaigns/{campaign_id}").json
    assert (read["active"], read["exited"]["reply"]) == (2, 1)


def test_bad_fields_are_a_422_naming_each(app, world):
    api = caller(app)
    bad = body(world, name="", segment_id=99999, exit_on=["bounce"], situation="nope", steps=[
        {"template": "nope", "delay": {"after": "enrolment", "minutes": 0}},
        {"template": "hello", "delay": {"after": "previous", "minutes": -1}},
        {"template": "hello", "delay": {"field": "appointment_at"}}])
    error = assert_error(api.post("/campaigns", json=bad), 422, "invalid", ("exit_on.0",))
    fixed = {**bad, "exit_on": []}
    error = assert_error(api.post("/campaigns", json=fixed), 422, "invalid",
                         ("name", "segment_id", "situation", "steps.0.template", "steps.1.delay.minutes",
                          "steps.2.delay.minutes"))
    assert "0 or more" in error["fields"]["steps.1.delay.minutes"]
    assert_error(api.post("/campaigns", json=body(world, steps=[])), 422, "invalid", ("steps",))
    assert_error(api.post("/campaigns", json=body(world, colour="red")), 422, "invalid", ("colour",))
    assert_error(api.post("/campaigns", json=body(world, steps=[{"template": "hello", "mode": "loud",
                                                                  "delay": {"after": "enrolment", "minutes": 0}}])),
                 422, "invalid", ("steps.0.mode",))
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Campaign.id))).scalar_one() == 0


def test_a_blocked_step_is_409_blocked_by_policy_unless_an_admin_gives_a_reason(app, world):
    with app.app_context():
        get_settings().enforce_recommendations = "block"
        db.session.commit()
    plain_results = body(world, mode="inherit", steps=[
        {"template": "results", "mode": "standard", "delay": {"after": "enrolment", "minutes": 0}}])
    staff, admin = caller(app, "staff"), caller(app, "admin")
    assert_error(staff.post("/campaigns", json=plain_results), 409, "blocked_by_policy")
    assert_error(staff.post("/campaigns", json={**plain_results, "override_reason": "I insist"}), 409,
                 "blocked_by_policy")
    assert_error(admin.post("/campaigns", json=plain_results), 409, "blocked_by_policy", ("override_reason",))
    created = admin.post("/campaigns", json={**plain_results, "override_reason": "Clients asked for plain texts"})
    assert created.status_code == 201, created.json
    decision = created.json["steps"][0]["decision"]
    assert decision["mode"] == "standard" and decision["blocked"] is True
    assert decision["blocked_by"] == ["secure_recommended"]
    # The admin's override stands for whoever activates it.
    assert staff.post(f"/campaigns/{created.json['id']}/activate").status_code == 200
    with app.app_context():
        override = db.session.execute(db.select(AuditEntry).filter_by(action="campaign.policy_override")).scalar_one()
        assert override.detail["reason"] == "Clients asked for plain texts"


def test_campaigns_need_a_key(app, world):
    anonymous = caller(app)
    anonymous.key = None
    assert_error(anonymous.post("/campaigns", json=body(world)), 401, "unauthorized")
    assert_error(anonymous.get("/campaigns/1"), 401, "unauthorized")
