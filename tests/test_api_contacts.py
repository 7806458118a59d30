"""Contacts over the API: create, read, set a PIN, read the thread."""
from __future__ import annotations

from datetime import datetime

from messaging.client.access import add_reply
from messaging.client.pin_choice import choose_pin, offer_choice
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.messages import get_message
from messaging.models import Contact
from messaging.people.consent import consent_history
from messaging.security.pins import check_pin
from tests.support.api import assert_error, caller
from tests.support.messages import send
from tests.support.records import audit_entries_in

PIN = "97531"


def test_creating_a_contact_answers_201_with_its_id_and_never_the_pin(app):
    api = caller(app)
    response = api.post("/contacts", json={
        "first_name": "Ann", "last_name": "Lee", "phone": "(415) 555-0101", "email": "Ann@Example.com",
        "tags": ["Diabetes", "new"], "form_data": {"appointment_date": "2025-03-14"}, "sms_consent": True,
        "marketing_consent": False, "pin": PIN})
    assert response.status_code == 201, response.json
    contact = response.json
    assert contact["id"] > 0
    assert contact["phone"] == "+14155550101"
    assert contact["email"] == "Ann@example.com"
    assert contact["tags"] == ["diabetes", "new"]
    assert contact["form_data"] == {"appointment_date": "2025-03-14"}
    # sms transactional is granted by default: the "yes" changes nothing and writes no ledger row.
    assert contact["sms_consent"] is True and contact["sms_consent_at"] is None
    assert contact["marketing_consent"] is False and contact["opted_out_at"] is None
    assert contact["has_pin"] is True
    assert "pin" not in contact and "pin_hash" not in contact
    assert PIN not in response.get_data(as_text=True)
    for path in (f"/contacts/{contact['id']}", f"/contacts/{contact['id']}/thread"):
        assert PIN not in api.get(path).get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Contact, contact["id"])
        assert check_pin(stored.pin_hash, PIN)
        assert consent_history(stored) == []
    [entry] = audit_entries_in(app, "contact.create")
    assert entry.actor.startswith("api-key:") and entry.api_key_id is not None


def test_a_contact_needs_only_a_first_name(app):
    response = caller(app).post("/contacts", json={"first_name": "Bo"})
    assert response.status_code == 201
    assert response.json["has_pin"] is False and response.json["last_name"] == ""


def test_each_invalid_contact_field_is_named_in_the_422(app):
    api = caller(app)
    response = api.post("/contacts", json={
        "first_name": "", "phone": "12", "email": "not-an-address", "tags": "a,b", "form_data": [1],
        "sms_consent": "maybe", "marketing_consent": 3, "pin": "12ab", "favourite_colour": "blue"})
    error = assert_error(response, 422, "invalid", ("tags", "form_data", "sms_consent", "marketing_consent",
                                                    "pin", "favourite_colour"))
    assert "4 to 8 digits" in error["fields"]["pin"]
    # Type errors come first; the core then checks what the values mean.
    response = api.post("/contacts", json={"first_name": " ", "phone": "12", "email": "not-an-address"})
    assert_error(response, 422, "invalid", ("first_name", "phone", "email"))
    assert_error(api.post("/contacts", json={"last_name": "Lee"}), 422, "invalid", ("first_name",))
    with app.app_context():
        assert db.session.execute(db.select(Contact)).first() is None


def test_a_pin_given_as_a_number_is_refused_because_leading_zeros_matter(app):
    error = assert_error(caller(app).post("/contacts", json={"first_name": "Ann", "pin": 1234}), 422, "invalid")
    assert "leading zeros" in error["fields"]["pin"]


def test_reading_a_contact_and_an_unknown_one(app):
    api = caller(app)
    created = api.post("/contacts", json={"first_name": "Ann", "phone": "+14155550102"}).json
    response = api.get(f"/contacts/{created['id']}")
    assert response.status_code == 200
    assert response.json == created
    assert_error(api.get("/contacts/999999"), 404, "not_found")
    assert_error(api.get(f"/contacts/{2**63}"), 404, "not_found")


def test_setting_a_pin_answers_204_and_the_new_pin_opens_messages(app):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann"}).json["id"]
    response = api.put(f"/contacts/{contact_id}/pin", json={"pin": "0042"})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert api.get(f"/contacts/{contact_id}").json["has_pin"] is True
    with app.app_context():
        assert check_pin(db.session.get(Contact, contact_id).pin_hash, "0042")
    assert [e.target_id for e in audit_entries_in(app, "contact.pin_set")] == [str(contact_id)]


def test_a_bad_pin_is_a_422_and_changes_nothing(app):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann", "pin": "5831"}).json["id"]
    for bad in ("12", "123456789", "12a4", "", None, 1234):
        assert_error(api.put(f"/contacts/{contact_id}/pin", json={"pin": bad}), 422, "invalid", ("pin",))
    assert_error(api.put(f"/contacts/{contact_id}/pin", json={}), 422, "invalid", ("pin",))
    with app.app_context():
        assert check_pin(db.session.get(Contact, contact_id).pin_hash, "5831")
    assert audit_entries_in(app, "contact.pin_set") == []


def test_setting_the_pin_of_an_unknown_contact_is_a_404(app):
    assert_error(caller(app).put("/contacts/424242/pin", json={"pin": "5831"}), 404, "not_found")


def test_the_thread_holds_content_oldest_first_and_every_read_is_audited(app):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann", "phone": "+14155550103",
                                             "email": "ann@example.com"}).json["id"]
    first = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Your results are in",
                                        "secure": True}).json
    second = api.post("/messages", json={"contact_id": contact_id, "channel": "email", "subject": "Parking",
                                         "body": "Use the back entrance", "secure": False}).json
    with app.app_context():
        add_reply(get_message(first["id"]), "Thank you, see you then", ip="203.0.113.9")
        db.session.commit()
    before = len(audit_entries_in(app, "thread.read"))

    response = api.get(f"/contacts/{contact_id}/thread")
    assert response.status_code == 200
    messages = response.json["messages"]
    assert [m["body"] for m in messages] == ["Your results are in", "Use the back entrance",
                                             "Thank you, see you then"]
    assert [m["direction"] for m in messages] == ["out", "out", "in"]
    assert [m["mode"] for m in messages[:2]] == ["secure", "standard"]
    assert [m["id"] for m in messages[:2]] == [first["id"], second["id"]]
    assert messages[1]["subject"] == "Parking"
    assert all(m["created_at"].endswith("Z") for m in messages)

    api.get(f"/contacts/{contact_id}/thread")
    reads = audit_entries_in(app, "thread.read")
    assert len(reads) == before + 2
    assert reads[-1].target_id == str(contact_id) and reads[-1].api_key_id is not None


def test_the_thread_of_an_unknown_contact_is_a_404_and_not_audited(app):
    assert_error(caller(app).get("/contacts/31337/thread"), 404, "not_found")
    assert audit_entries_in(app, "thread.read") == []


def test_control_characters_are_refused_on_every_database(app):
    api = caller(app)
    response = api.post("/contacts", json={"first_name": "A\x00b", "last_name": "Lee\tJr",
                                           "form_data": {"note": "x\x1by"}, "tags": ["ok"]})
    error = assert_error(response, 422, "invalid", ("first_name", "form_data"))
    assert "last_name" not in error["fields"] and "tags" not in error["fields"]
    assert api.post("/contacts", json={"first_name": "Ann", "last_name": "Lee\tJr"}).status_code == 201


def test_consent_flags_write_ledger_rows_only_where_they_change_the_state(app):
    api = caller(app)
    default = api.post("/contacts", json={"first_name": "Def", "marketing_consent": False, "sms_consent": True}).json
    assert default["marketing_consent_at"] is None and default["marketing_consent_source"] is None
    assert default["sms_consent_at"] is None
    yes = api.post("/contacts", json={"first_name": "Yes", "marketing_consent": True}).json
    assert yes["marketing_consent"] is True and yes["marketing_consent_at"].endswith("Z")
    assert yes["marketing_consent_source"] == "api"
    assert {channel: purposes["marketing"] for channel, purposes in yes["consent"].items()} == {
        "sms": True, "email": True, "voice": True}
    no = api.post("/contacts", json={"first_name": "No", "sms_consent": False}).json
    assert no["sms_consent"] is False and no["opted_out_at"] and no["sms_consent_at"] == no["opted_out_at"]
    assert no["consent"]["sms"] == {"transactional": False, "marketing": False}
    assert no["consent"]["email"]["transactional"] is True
    with app.app_context():
        rows = {c["first_name"]: consent_history(db.session.get(Contact, c["id"])) for c in (default, yes, no)}
        assert rows["Def"] == []
        assert sorted((r.channel, r.purpose, r.granted, r.source) for r in rows["Yes"]) == [
            ("email", "marketing", True, "api"), ("sms", "marketing", True, "api"), ("voice", "marketing", True, "api")]
        assert [(r.channel, r.purpose, r.granted, r.source) for r in rows["No"]] == [
            ("sms", "transactional", False, "api")]


def test_reading_a_contact_says_who_set_its_pin_and_when_but_never_the_pin(app, clock):
    api = caller(app)
    contact_id = api.post("/contacts", json={"first_name": "Ann", "email": "ann@example.com"}).json["id"]
    unset = api.get(f"/contacts/{contact_id}").json
    assert (unset["has_pin"], unset["pin_set_by"], unset["pin_set_at"]) == (False, None, None)

    clock.at(datetime(2026, 3, 4, 9, 30))
    assert api.put(f"/contacts/{contact_id}/pin", json={"pin": "0042"}).status_code == 204
    staff = api.get(f"/contacts/{contact_id}").json
    assert (staff["pin_set_by"], staff["pin_set_at"]) == ("staff", "2026-03-04T09:30:00Z")
    assert "0042" not in str(staff)

    # The client chooses a new one after a code ("Forgot your PIN?"), on the secure page.
    clock.at(datetime(2026, 3, 5, 18, 0))
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        message = send(contact, channel="email", body="Results", subject="Results", secure=True, require_pin=True)
        raw, session = start_session(contact, message, None)
        assert offer_choice(session, message)
        choose_pin(session, message, "5831", "5831", None)
        db.session.commit()
    client = api.get(f"/contacts/{contact_id}").json
    assert (client["has_pin"], client["pin_set_by"], client["pin_set_at"]) == (True, "client", "2026-03-05T18:00:00Z")
    assert "5831" not in str(client)
