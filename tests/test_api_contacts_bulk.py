"""POST /api/v1/contacts/bulk: up to 1,000 contacts upserted by phone then e-mail, one result per index."""
from __future__ import annotations

from messaging.db import db
from messaging.models import AuditEntry, ConsentEntry, Contact, ContactTag
from tests.support.api import assert_error, caller


def stored(app) -> list[Contact]:
    with app.app_context():
        rows = list(db.session.execute(db.select(Contact).order_by(Contact.id)).scalars())
        db.session.expunge_all()
        return rows


def test_items_are_created_updated_or_rejected_each_with_its_index_id_and_fields(app):
    api = caller(app)
    first = api.post("/contacts/bulk", json={"contacts": [
        {"first_name": "Ana", "phone": "(415) 555-0123", "tags": ["VIP"], "form_data": {"visit": "2025-03-14"}},
        {"first_name": "Ben", "email": "ben@example.com", "language": "es"},
    ]})
    assert first.status_code == 200, first.json
    ana_id, ben_id = [result["id"] for result in first.json["results"]]
    response = api.post("/contacts/bulk", json={"contacts": [
        {"first_name": "Ana María", "phone": "+14155550123", "tags": ["diabetes"], "form_data": {"team": "b"}},
        {"first_name": "Cy", "phone": "not a phone", "email": "nope"},
        {"first_name": "Benjamín", "email": "ben@example.com", "phone": "+14155550124"},
        {"first_name": "Di", "email": "di@example.com", "unknown": 1},
        "not an object",
        {"first_name": "Ed", "phone": "+14155550125", "timezone": "Europe/Madrid", "date_of_birth": "1980-01-31"},
        {"first_name": "Eddie", "phone": "+1 415 555 0125"},
    ]})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["created"], body["updated"], body["rejected"]) == (1, 3, 3)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == ["updated", "rejected", "updated", "rejected", "rejected", "created",
                                              "updated"]
    assert results[0] == {"index": 0, "status": "updated", "id": ana_id, "fields": {}}
    assert set(results[1]["fields"]) == {"phone", "email"} and results[1]["id"] is None
    assert results[2]["id"] == ben_id
    assert "unknown" in results[3]["fields"]
    assert results[6]["id"] == results[5]["id"]  # a later item updates what an earlier one created
    ana, ben, ed = stored(app)
    assert (ana.first_name, ana.tags, ana.form_data) == ("Ana María", ["diabetes", "vip"],
                                                         {"visit": "2025-03-14", "team": "b"})
    assert (ben.first_name, ben.phone, ben.language) == ("Benjamín", "+14155550124", "es")
    assert (ed.first_name, ed.timezone, str(ed.date_of_birth)) == ("Eddie", "Europe/Madrid", "1980-01-31")
    assert ana.timezone == "America/Los_Angeles"
    with app.app_context():
        assert {t.tag for t in db.session.execute(db.select(ContactTag).filter_by(contact_id=ana_id)).scalars()} \
            == {"diabetes", "vip"}
        audits = db.session.execute(db.select(AuditEntry).filter_by(action="contacts.bulk")
                                    .order_by(AuditEntry.id)).scalars().all()
        assert audits[-1].detail == {"created": 1, "updated": 3, "rejected": 3}


def test_more_than_a_thousand_items_is_a_422_and_nothing_is_written(app):
    api = caller(app)
    items = [{"first_name": f"C{n}", "phone": f"+1415555{n:04d}"} for n in range(1001)]
    assert_error(api.post("/contacts/bulk", json={"contacts": items}), 422, "invalid", ("contacts",))
    assert stored(app) == []
    ok = api.post("/contacts/bulk", json={"contacts": items[:1000]})
    assert ok.status_code == 200 and ok.json["created"] == 1000


def test_consent_flags_write_ledger_rows_with_source_api_only_when_they_change(app):
    api = caller(app)
    item = {"first_name": "Ana", "phone": "+14155550123", "marketing_consent": True, "sms_consent": True}
    assert api.post("/contacts/bulk", json={"contacts": [item]}).json["created"] == 1
    assert api.post("/contacts/bulk", json={"contacts": [item]}).json["updated"] == 1
    with app.app_context():
        entries = db.session.execute(db.select(ConsentEntry).order_by(ConsentEntry.id)).scalars().all()
        assert sorted((e.channel, e.purpose, e.granted, e.source) for e in entries) == [
            ("email", "marketing", True, "api"), ("sms", "marketing", True, "api"), ("voice", "marketing", True, "api")]
        assert all(e.actor.startswith("api-key:") for e in entries)


def test_the_body_must_hold_a_list_of_contacts(app):
    api = caller(app)
    assert_error(api.post("/contacts/bulk", json={}), 422, "invalid", ("contacts",))
    assert_error(api.post("/contacts/bulk", json={"contacts": {"first_name": "Ana"}}), 422, "invalid", ("contacts",))
    assert api.post("/contacts/bulk", json={"contacts": []}).json == {"created": 0, "updated": 0, "rejected": 0,
                                                                       "results": []}


def test_without_a_key_the_call_is_refused(app):
    response = app.test_client().post("/api/v1/contacts/bulk", json={"contacts": []})
    assert response.status_code == 401
