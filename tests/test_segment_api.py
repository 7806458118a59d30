"""The segment operations of API v1, as a program calling them meets them."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import AuditEntry, Contact, Segment
from messaging.people.consent import record_consent
from seeds.factories import make_contact
from tests.support.api import ApiCaller, assert_error, caller

VIP_RULE = {"match": "all", "conditions": [{"tag": "VIP"}, {"field": "visits", "op": "gt", "value": "5"}]}


@pytest.fixture
def api(app):
    return caller(app, "staff")


def contacts(app, *specs) -> list[int]:
    """Make one contact per (tags, form_data) and answer their ids."""
    with app.app_context():
        return [make_contact(tags=tags, form_data=form).id for tags, form in specs]


def test_create_answers_201_with_the_stored_rule_and_its_count(app, api):
    ids = contacts(app, (["vip"], {"visits": 7}), (["vip"], {"visits": "12"}), (["vip"], {"visits": 2}),
                   ([], {"visits": 9}))
    response = api.post("/segments", json={"name": "  Frequent VIPs ", "rule": VIP_RULE})
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "name", "rule", "count"}
    assert body["name"] == "Frequent VIPs"
    assert body["rule"] == VIP_RULE
    assert body["count"] == 2
    with app.app_context():
        segment = db.session.get(Segment, body["id"])
        assert segment.rule == VIP_RULE
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="segment.create")).scalar_one()
        assert entry.target_id == str(body["id"]) and entry.actor.startswith("api-key:")
    assert ids  # the contacts exist; the count above is theirs


def test_read_adds_the_ten_lowest_matching_ids_and_counts_live(app, api):
    ids = contacts(app, *[(["vip"], {"visits": 10})] * 12, ([], {"visits": 10}))
    created = api.post("/segments", json={"name": "VIPs", "rule": VIP_RULE}).json
    answer = api.get(f"/segments/{created['id']}")
    assert answer.status_code == 200
    assert answer.json == {**created, "count": 12, "sample": ids[:10]}
    # A segment stores no members: a contact tagged afterwards is in it at once.
    with app.app_context():
        contact = db.session.get(Contact, ids[-1])
        contact.tags = ["vip"]
        db.session.commit()
    assert api.get(f"/segments/{created['id']}").json["count"] == 13


def test_list_has_every_segment_by_name_with_counts(app, api):
    contacts(app, (["vip"], {"visits": 6}), (["new"], {}))
    api.post("/segments", json={"name": "b new", "rule": {"match": "all", "conditions": [{"tag": "new"}]}})
    api.post("/segments", json={"name": "a vip", "rule": VIP_RULE})
    answer = api.get("/segments")
    assert answer.status_code == 200
    assert [(s["name"], s["count"]) for s in answer.json["segments"]] == [("a vip", 1), ("b new", 1)]
    assert set(answer.json["segments"][0]) == {"id", "name", "rule", "count"}


def test_preview_counts_without_saving(app, api):
    ids = contacts(app, (["vip"], {"visits": 6}), (["vip"], {}), ([], {}))
    rule = {"match": "any", "conditions": [{"tag": "vip", "negate": True},
                                           {"field": "visits", "op": "not_exists"}]}
    answer = api.post("/segments/preview", json={"rule": rule})
    assert answer.status_code == 200
    assert answer.json == {"count": 2, "sample": ids[1:]}
    with app.app_context():
        assert db.session.execute(db.select(Segment)).first() is None


def test_consent_conditions_read_the_ledger(app, api):
    ids = contacts(app, ([], {}), ([], {}), ([], {}))
    with app.app_context():
        first, second = db.session.get(Contact, ids[0]), db.session.get(Contact, ids[1])
        record_consent(first, "sms", "marketing", True, "staff", SYSTEM)
        record_consent(second, "sms", "transactional", False, "keyword", SYSTEM)
        db.session.commit()
    preview = lambda condition: api.post("/segments/preview", json={  # noqa: E731
        "rule": {"match": "all", "conditions": [condition]}}).json["sample"]
    assert preview({"consent": "sms:marketing"}) == [ids[0]]
    assert preview({"consent": "sms:marketing", "negate": True}) == ids[1:]
    assert preview({"opted_out": True}) == [ids[1]]
    assert preview({"opted_out": False}) == [ids[0], ids[2]]
    assert preview({"consent": "email:transactional", "negate": False}) == ids


@pytest.mark.parametrize(("rule", "path", "words"), [
    ({"match": "all", "conditions": [{"field": "a", "op": "like", "value": "x"}]}, "rule.conditions.0.op", "one of"),
    ({"match": "all", "conditions": []}, "rule.conditions", "at least one"),
    ({"match": "all"}, "rule.conditions", "at least one"),
    ({"match": "some", "conditions": [{"tag": "x"}]}, "rule.match", "all or any"),
    ({"match": "all", "conditions": [{"tag": "x"}, {"match": "any", "conditions": [
        {"match": "all", "conditions": [{"tag": "y"}]}]}]}, "rule.conditions.1.conditions.0", "one level"),
    ({"match": "all", "conditions": [{"tag": "x"}, {"tag": "y"},
                                     {"field": "age", "op": "gt", "value": "old"}]}, "rule.conditions.2.value",
     "number"),
    ({"match": "all", "conditions": [{"field": "due", "op": "before", "value": "2025-02-30"}]},
     "rule.conditions.0.value", "YYYY-MM-DD"),
    ({"match": "all", "conditions": [{"field": "due", "op": "after", "value": "tomorrow"}]},
     "rule.conditions.0.value", "today+30d"),
    ({"match": "all", "conditions": [{"consent": "fax:marketing"}]}, "rule.conditions.0.consent", "CHANNEL:PURPOSE"),
    ({"match": "all", "conditions": [{"opted_out": "yes"}]}, "rule.conditions.0.opted_out", "true or false"),
    ({"match": "all", "conditions": [{"field": "contact.phone", "op": "eq", "value": "1"}]},
     "rule.conditions.0.field", "contact.language"),
    ({"match": "all", "conditions": [{"field": "contact.language", "op": "gt", "value": 1}]},
     "rule.conditions.0.op", "takes"),
    ({"match": "all", "conditions": [{"tag": "x", "field": "y"}]}, "rule.conditions.0", "exactly one"),
    ({"match": "all", "conditions": ["vip"]}, "rule.conditions.0", "object"),
    ([{"tag": "x"}], "rule", "object"),
])
def test_invalid_rules_are_422_naming_the_path(api, rule, path, words):
    for answer in (api.post("/segments", json={"name": "S", "rule": rule}),
                   api.post("/segments/preview", json={"rule": rule})):
        error = assert_error(answer, 422, "invalid", (path,))
        assert words in error["fields"][path], error


def test_names_are_required_unique_and_bounded(api):
    rule = {"match": "all", "conditions": [{"tag": "x"}]}
    assert_error(api.post("/segments", json={"rule": rule}), 422, "invalid", ("name",))
    assert_error(api.post("/segments", json={"name": "  ", "rule": rule}), 422, "invalid", ("name",))
    error = assert_error(api.post("/segments", json={"name": "x" * 201, "rule": rule}), 422, "invalid", ("name",))
    assert "200" in error["fields"]["name"]
    assert api.post("/segments", json={"name": "Straße", "rule": rule}).status_code == 201
    error = assert_error(api.post("/segments", json={"name": "STRASSE", "rule": rule}), 422, "invalid", ("name",))
    assert "already exists" in error["fields"]["name"] and "Straße" in error["fields"]["name"]


def test_change_and_delete(app, api):
    contacts(app, (["vip"], {"visits": 6}), (["new"], {}))
    created = api.post("/segments", json={"name": "VIPs", "rule": VIP_RULE}).json
    other = api.post("/segments", json={"name": "Other", "rule": VIP_RULE}).json
    url = f"/api/v1/segments/{created['id']}"
    changed = api.client.patch(url, json={"rule": {"match": "all", "conditions": [{"tag": "new"}]}},
                               headers=api.headers())
    assert changed.status_code == 200
    assert changed.json["name"] == "VIPs" and changed.json["count"] == 1
    assert changed.json["rule"] == {"match": "all", "conditions": [{"tag": "new"}]}
    assert_error(api.client.patch(url, json={"name": "other"}, headers=api.headers()), 422, "invalid", ("name",))
    assert_error(api.client.patch(url, json={"rule": {"match": "all", "conditions": []}}, headers=api.headers()),
                 422, "invalid", ("rule.conditions",))
    assert api.client.delete(url, headers=api.headers()).status_code == 204
    assert_error(api.get(f"/segments/{created['id']}"), 404, "not_found")
    assert api.get(f"/segments/{other['id']}").status_code == 200
    with app.app_context():
        actions = db.session.execute(db.select(AuditEntry.action).where(AuditEntry.action.like("segment.%"))
                                     .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["segment.create", "segment.create", "segment.update", "segment.delete"]


def test_unknown_ids_and_missing_keys(app, api):
    assert_error(api.get("/segments/999"), 404, "not_found")
    assert_error(api.get(f"/segments/{2**40}"), 404, "not_found")
    anonymous = ApiCaller(app, app.test_client(), None)
    assert_error(anonymous.get("/segments"), 401, "unauthorized")
    assert_error(anonymous.post("/segments/preview", json={"rule": VIP_RULE}), 401, "unauthorized")


def test_answers_match_the_documented_schemas(app, api):
    contacts(app, (["vip"], {"visits": 6}))
    document = app.test_client().get("/api/v1/openapi.json").json
    created = api.post("/segments", json={"name": "VIPs", "rule": VIP_RULE}).json
    answers = {"SegmentOut": created, "SegmentDetailOut": api.get(f"/segments/{created['id']}").json,
               "SegmentListOut": api.get("/segments").json,
               "SegmentPreviewOut": api.post("/segments/preview", json={"rule": VIP_RULE}).json}
    for name, answer in answers.items():
        root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        assert list(Draft202012Validator(root).iter_errors(answer)) == [], name
    paths = document["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/segments"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/segments/{segment_id}"])
    assert "422" in paths["/api/v1/segments/preview"]["post"]["responses"]
    rule_doc = document["components"]["schemas"]["SegmentIn"]["properties"]["rule"]
    assert "rule.conditions.2.op" in rule_doc["description"]
