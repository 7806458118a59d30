"""Contacts over the API: the new fields (language, timezone, date of birth), PATCH semantics, timezone inference."""
from __future__ import annotations

import pytest

from messaging.db import db
from messaging.models import Contact
from tests.support.api import assert_error, caller
from tests.support.records import audit_entries_in


def _patch(api, contact_id: int, body: dict):
    return api.client.patch(f"/api/v1/contacts/{contact_id}", json=body, headers=api.headers())


def test_new_fields_are_stored_and_answered(app):
    api = caller(app)
    response = api.post("/contacts", json={"first_name": "Lucía", "phone": "+34 612 345 678", "language": "ES",
                                           "timezone": "Europe/Madrid", "date_of_birth": "1984-03-14"})
    assert response.status_code == 201, response.json
    contact = response.json
    assert (contact["language"], contact["timezone"], contact["date_of_birth"]) == ("es", "Europe/Madrid",
                                                                                    "1984-03-14")
    assert api.get(f"/contacts/{contact['id']}").json == contact
    assert api.post("/contacts", json={"first_name": "Bo"}).json["language"] == "en"  # the default


def test_bad_new_fields_are_named_in_the_422(app):
    api = caller(app)
    error = assert_error(api.post("/contacts", json={
        "first_name": "Bo", "language": "fr", "timezone": "Mars/Olympus", "date_of_birth": "14/03/1984"}),
        422, "invalid", ("language", "timezone", "date_of_birth"))
    assert "en, es" in error["fields"]["language"] and "YYYY-MM-DD" in error["fields"]["date_of_birth"]
    assert_error(api.post("/contacts", json={"first_name": "Bo", "date_of_birth": "2023-02-30"}), 422, "invalid",
                 ("date_of_birth",))
    with app.app_context():
        assert db.session.execute(db.select(Contact)).first() is None


@pytest.mark.parametrize(("phone", "zone"), [
    ("+1 415 555 0101", "America/Los_Angeles"),   # San Francisco: one zone
    ("+34 612 345 678", None),                    # Spain: Madrid and the Canaries, so none is guessed
    ("+1 800 555 0199", None),                    # toll-free: the whole of North America
    (None, None),
])
def test_a_missing_timezone_is_taken_from_the_phone_only_when_it_has_exactly_one_zone(app, phone, zone):
    body = {"first_name": "Zed"} | ({"phone": phone} if phone else {})
    contact = caller(app).post("/contacts", json=body).json
    assert contact["timezone"] == zone


def test_a_given_timezone_wins_over_the_phone(app):
    contact = caller(app).post("/contacts", json={"first_name": "Zed", "phone": "+14155550101",
                                                  "timezone": "America/New_York"}).json
    assert contact["timezone"] == "America/New_York"


def test_patch_changes_only_what_is_given_and_answers_200_with_the_contact(app):
    api = caller(app)
    created = api.post("/contacts", json={"first_name": "Ann", "last_name": "Lee", "phone": "+14155550101",
                                          "email": "ann@example.com", "tags": ["vip", "new"],
                                          "form_data": {"plan": "gold", "visits": 3, "allergy": "none"}}).json
    response = _patch(api, created["id"], {"last_name": "Lee-Smith", "tags": ["Follow-up"],
                                          "form_data": {"visits": 4, "allergy": None, "due": "2025-04-01"}})
    assert response.status_code == 200, response.json
    changed = response.json
    assert changed["last_name"] == "Lee-Smith" and changed["first_name"] == "Ann"
    assert changed["phone"] == "+14155550101" and changed["email"] == "ann@example.com"
    assert changed["tags"] == ["follow-up"]  # replaced, not added to
    assert changed["form_data"] == {"plan": "gold", "visits": 4, "due": "2025-04-01"}  # merged; null deleted
    assert api.get(f"/contacts/{created['id']}").json == changed
    [entry] = audit_entries_in(app, "contact.update")
    assert entry.detail["fields"] == ["form_data", "last_name", "tags"]

    emptied = _patch(api, created["id"], {"email": None, "timezone": None, "date_of_birth": "1990-01-31",
                                          "language": "es"}).json
    assert emptied["email"] is None and emptied["timezone"] is None
    assert (emptied["date_of_birth"], emptied["language"]) == ("1990-01-31", "es")
    assert emptied["tags"] == ["follow-up"] and emptied["form_data"] == changed["form_data"]


def test_patch_consent_flags_write_ledger_rows(app):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann", "phone": "+14155550101"}).json["id"]
    changed = _patch(api, contact_id, {"marketing_consent": True, "sms_consent": False}).json
    assert changed["consent"]["sms"] == {"transactional": False, "marketing": True}
    assert changed["consent"]["email"]["marketing"] is True and changed["opted_out_at"] is not None
    history = api.get(f"/contacts/{contact_id}/consent").json["entries"]
    assert len(history) == 4 and {e["source"] for e in history} == {"api"}


def test_a_bad_patch_is_a_422_and_changes_nothing(app):
    api = caller(app)
    created = api.post("/contacts", json={"first_name": "Ann", "form_data": {"plan": "gold"}}).json
    assert_error(_patch(api, created["id"], {"first_name": "", "phone": "12", "date_of_birth": "tomorrow"}), 422,
                 "invalid", ("first_name", "phone", "date_of_birth"))
    assert_error(_patch(api, created["id"], {"tags": "a,b"}), 422, "invalid", ("tags",))
    assert_error(_patch(api, created["id"], {"first_name": None}), 422, "invalid", ("first_name",))
    assert_error(_patch(api, created["id"], {"form_data": {"nested": {"a": 1}}}), 422, "invalid", ("form_data",))
    # The limits hold for the merged result: 100 keys already stored plus one more is one too many.
    full = {f"k{i}": i for i in range(99)}
    assert _patch(api, created["id"], {"form_data": full}).status_code == 200
    error = assert_error(_patch(api, created["id"], {"form_data": {"one_more": 1}}), 422, "invalid", ("form_data",))
    assert "100 keys" in error["fields"]["form_data"]
    assert_error(_patch(api, created["id"], {"pin": "1234"}), 422, "invalid", ("pin",))
    stored = api.get(f"/contacts/{created['id']}").json
    assert stored["first_name"] == "Ann" and len(stored["form_data"]) == 100


def test_patching_an_unknown_contact_is_a_404(app):
    assert_error(_patch(caller(app), 424242, {"last_name": "X"}), 404, "not_found")


def test_a_new_phone_sets_the_zone_of_a_contact_without_one(app):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann"}).json["id"]
    assert _patch(api, contact_id, {"phone": "+1 212 555 0101"}).json["timezone"] == "America/New_York"
    # A zone already set is kept when the number changes.
    assert _patch(api, contact_id, {"phone": "+1 415 555 0101"}).json["timezone"] == "America/New_York"
