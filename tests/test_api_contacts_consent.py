"""The consent ledger over the API: POST a grant or withdrawal, GET the history, the consent map on the contact."""
from __future__ import annotations

from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import ConsentEntry
from seeds.factories import make_contact
from tests.support.api import assert_error, caller
from tests.support.records import audit_entries_in

ENTRY_FIELDS = {"id", "channel", "purpose", "granted", "source", "actor", "note", "at"}


def _contact(app, **fields) -> int:
    with app.app_context():
        return make_contact(**fields).id


def test_recording_consent_answers_201_with_the_row(app):
    contact_id = _contact(app)
    api = caller(app)
    response = api.post(f"/contacts/{contact_id}/consent", json={
        "channel": "email", "purpose": "marketing", "granted": True, "note": "Signed the newsletter form"})
    assert response.status_code == 201, response.json
    entry = response.json
    assert set(entry) == ENTRY_FIELDS
    assert (entry["channel"], entry["purpose"], entry["granted"], entry["source"]) == ("email", "marketing", True,
                                                                                      "api")
    assert entry["actor"].startswith("api-key:") and entry["note"] == "Signed the newsletter form"
    assert entry["at"].endswith("Z") and entry["id"] > 0
    contact = api.get(f"/contacts/{contact_id}").json
    assert contact["consent"]["email"] == {"transactional": True, "marketing": True}
    assert contact["consent"]["sms"] == {"transactional": True, "marketing": False}
    assert contact["marketing_consent"] is True and contact["marketing_consent_source"] == "api"
    [audited] = audit_entries_in(app, "contact.consent")
    assert audited.target_id == str(contact_id) and audited.detail["channel"] == "email"


def test_the_history_is_newest_first_and_the_latest_row_is_the_state(app):
    contact_id = _contact(app)
    api = caller(app)
    ids = [api.post(f"/contacts/{contact_id}/consent", json=body).json["id"] for body in (
        {"channel": "sms", "purpose": "transactional", "granted": False},
        {"channel": "sms", "purpose": "transactional", "granted": True, "note": "called back"},
        {"channel": "voice", "purpose": "transactional", "granted": False})]
    history = api.get(f"/contacts/{contact_id}/consent")
    assert history.status_code == 200
    entries = history.json["entries"]
    assert [e["id"] for e in entries] == ids[::-1]
    assert all(set(e) == ENTRY_FIELDS for e in entries)
    assert entries[1]["note"] == "called back" and entries[0]["note"] is None
    contact = api.get(f"/contacts/{contact_id}").json
    assert contact["consent"]["sms"]["transactional"] is True and contact["opted_out_at"] is None
    assert contact["consent"]["voice"]["transactional"] is False


def test_a_withdrawal_through_the_api_stops_messages_on_that_channel(app):
    contact_id = _contact(app)
    api = caller(app)
    api.post(f"/contacts/{contact_id}/consent", json={"channel": "sms", "purpose": "transactional", "granted": False})
    contact = api.get(f"/contacts/{contact_id}").json
    assert contact["sms_consent"] is False and contact["opted_out_at"] == contact["sms_consent_at"]
    answer = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi", "secure": False})
    assert answer.json["status"] == "suppressed"
    by_email = api.post("/messages", json={"contact_id": contact_id, "channel": "email", "body": "Hi",
                                           "secure": False})
    assert by_email.json["status"] == "queued"
    with app.app_context():
        assert dispatch_once().sent == 1
        assert read_outbox(contact["phone"]) == []


def test_an_unknown_contact_is_a_404_for_both(app):
    api = caller(app)
    assert_error(api.get("/contacts/424242/consent"), 404, "not_found")
    assert_error(api.post("/contacts/424242/consent", json={"channel": "sms", "purpose": "marketing",
                                                             "granted": True}), 404, "not_found")


def test_bad_channel_purpose_or_granted_is_a_422_naming_each_and_writes_nothing(app):
    contact_id = _contact(app)
    api = caller(app)
    error = assert_error(api.post(f"/contacts/{contact_id}/consent", json={
        "channel": "fax", "purpose": "spam", "granted": "maybe"}), 422, "invalid", ("channel", "purpose", "granted"))
    assert "sms" in error["fields"]["channel"] and "marketing" in error["fields"]["purpose"]
    assert_error(api.post(f"/contacts/{contact_id}/consent", json={"channel": "sms", "purpose": "marketing"}),
                 422, "invalid", ("granted",))
    # "yes" and 1 are not booleans: consent is never guessed from a loose value.
    for loose in ("yes", 1, None):
        assert_error(api.post(f"/contacts/{contact_id}/consent", json={
            "channel": "sms", "purpose": "marketing", "granted": loose}), 422, "invalid", ("granted",))
    assert_error(api.post(f"/contacts/{contact_id}/consent", json={
        "channel": "sms", "purpose": "marketing", "granted": True, "note": "x" * 1001}), 422, "invalid", ("note",))
    assert_error(api.post(f"/contacts/{contact_id}/consent", json={
        "channel": "sms", "purpose": "marketing", "granted": True, "source": "keyword"}), 422, "invalid", ("source",))
    with app.app_context():
        assert db.session.execute(db.select(ConsentEntry)).first() is None
    assert api.get(f"/contacts/{contact_id}/consent").json == {"entries": []}


def test_the_consent_operations_are_in_the_openapi_document(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    path = document["paths"]["/api/v1/contacts/{contact_id}/consent"]
    assert {"201", "404", "422"} <= set(path["post"]["responses"])
    assert "200" in path["get"]["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["ConsentIn"]["required"]) == {"channel", "purpose", "granted"}
    assert set(schemas["ConsentEntryOut"]["properties"]) == ENTRY_FIELDS
    assert {"language", "timezone", "date_of_birth", "consent", "opted_out_at"} <= set(
        schemas["ContactOut"]["properties"])
    assert "patch" in document["paths"]["/api/v1/contacts/{contact_id}"]
