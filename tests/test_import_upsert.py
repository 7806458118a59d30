"""A row matches a contact by phone, else e-mail, and updates it instead of duplicating it."""
from __future__ import annotations

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import ConsentEntry, Contact, ContactField, ContactTag
from messaging.people.consent import record_consent
from tests.support.imports import import_text, stored_contacts


def ledger(app) -> list[tuple]:
    with app.app_context():
        return [(e.contact_id, e.channel, e.purpose, e.granted, e.source)
                for e in db.session.execute(db.select(ConsentEntry).order_by(ConsentEntry.id)).scalars()]


FILE = ("first_name,last_name,phone,email,tags,sms_marketing_consent,visit\n"
        "Ana,Ruiz,+14155550123,ana@example.com,vip;diabetes,yes,2025-03-14\n"
        "Ben,Ng,+14155550124,ben@example.com,,no,\n"
        "Cy,Li,,cy@example.com,new,true,2025-04-01\n")


def test_importing_the_same_file_again_creates_nothing_updates_every_row_and_adds_no_ledger_row(app, runner, tmp_path):
    first = import_text(runner, tmp_path, FILE)
    assert (first["created"], first["updated"], first["rejected"]) == (3, 0, 0)
    before, ledger_before = stored_contacts(app), ledger(app)
    assert len(ledger_before) == 2  # Ben's "no" is marketing's default already: no row
    again = import_text(runner, tmp_path, FILE)
    assert (again["created"], again["updated"], again["rejected"]) == (0, 3, 0)
    after = stored_contacts(app)
    assert [(c.id, c.first_name, c.tags, c.form_data) for c in after] == \
        [(c.id, c.first_name, c.tags, c.form_data) for c in before]
    assert ledger(app) == ledger_before


def test_duplicate_rows_inside_one_file_make_one_contact_the_later_row_updating_it(app, runner, tmp_path):
    output = import_text(runner, tmp_path, "first_name,last_name,phone,email,tags,sms_marketing_consent\n"
                                           "Ana,,+14155550123,,first,yes\n"
                                           "Ana,Ruiz,(415) 555-0123,ana@example.com,second,\n"
                                           "Anita,,,ana@example.com,third,no\n")
    assert (output["created"], output["updated"], output["rejected"]) == (1, 2, 0)
    [ana] = stored_contacts(app)
    assert (ana.first_name, ana.last_name, ana.email, ana.tags) == (
        "Anita", "Ruiz", "ana@example.com", ["first", "second", "third"])
    assert [row[1:4] for row in ledger(app)] == [("sms", "marketing", True), ("sms", "marketing", False)]
    with app.app_context():
        assert sorted(t.tag for t in db.session.execute(db.select(ContactTag)).scalars()) == [
            "first", "second", "third"]


def test_an_existing_contact_is_updated_non_empty_values_overwrite_tags_are_added(app, runner, tmp_path):
    import_text(runner, tmp_path, "first_name,last_name,phone,email,tags,team,visit\n"
                                  "Ana,Ruiz,+14155550123,ana@example.com,vip,family,2025-01-01\n")
    output = import_text(runner, tmp_path, "first_name,last_name,phone,email,tags,visit\n"
                                           "Ana María,,+1 415 555 0123,,diabetes,2025-06-01\n", "second.csv")
    assert (output["created"], output["updated"]) == (0, 1)
    [ana] = stored_contacts(app)
    assert (ana.first_name, ana.last_name, ana.email) == ("Ana María", "Ruiz", "ana@example.com")
    assert ana.tags == ["diabetes", "vip"]
    assert ana.form_data == {"team": "family", "visit": "2025-06-01"}
    with app.app_context():
        assert {(f.name, f.text, f.date) for f in db.session.execute(db.select(ContactField)).scalars()} == {
            ("team", "family", None), ("visit", "2025-06-01", "2025-06-01")}


def test_phone_wins_over_email_and_an_email_match_is_used_when_the_phone_is_new(app, runner, tmp_path):
    import_text(runner, tmp_path, "first_name,phone,email\nAna,+14155550123,ana@example.com\n"
                                  "Ben,+14155550124,ben@example.com\n")
    output = import_text(runner, tmp_path, "first_name,phone,email\n"
                                           "Ana2,+14155550123,ana2@example.com\n"
                                           "Ben2,+14155550199,ben@example.com\n", "b.csv")
    assert (output["created"], output["updated"]) == (0, 2)
    ana, ben = stored_contacts(app)
    assert (ana.first_name, ana.email, ben.first_name, ben.phone) == ("Ana2", "ana2@example.com", "Ben2",
                                                                      "+14155550199")
    # Ana takes Ben's address by her phone; a later row known only by that address then matches both.
    output = import_text(runner, tmp_path, "first_name,phone,email\n"
                                           "Ana3,+14155550123,ben@example.com\n"
                                           "Who,+14155550177,ben@example.com\n", "c.csv")
    assert (output["created"], output["updated"], output["rejected"]) == (0, 1, 1)
    assert output["errors"][0]["reason"].startswith("email: matches 2 contacts")


def test_a_row_that_matches_two_contacts_is_rejected_and_neither_changes(app, runner, tmp_path):
    with app.app_context():
        for name in ("Ana", "Anna"):
            db.session.add(Contact(first_name=name, phone="+14155550123", tags=[], form_data={}))
        db.session.commit()
    output = import_text(runner, tmp_path, "first_name,phone,tags\nAnya,+14155550123,vip\n")
    assert (output["created"], output["updated"], output["rejected"]) == (0, 0, 1)
    assert output["errors"][0]["line"] == 2
    assert output["errors"][0]["reason"].startswith("phone: matches 2 contacts")
    assert [(c.first_name, c.tags) for c in stored_contacts(app)] == [("Ana", []), ("Anna", [])]


def test_consent_values_write_a_row_only_where_they_change_the_state(app, runner, tmp_path):
    with app.app_context():
        contact = Contact(first_name="Ana", phone="+14155550123", tags=[], form_data={})
        db.session.add(contact)
        db.session.flush()
        record_consent(contact, "sms", "marketing", True, "staff", SYSTEM)
        db.session.commit()
        ana_id = contact.id
    import_text(runner, tmp_path, "first_name,phone,sms_marketing_consent,sms_transactional_consent,"
                                  "voice_marketing_consent,email_marketing_consent\n"
                                  "Ana,+14155550123,1,0,,FALSE\n")
    assert ledger(app) == [(ana_id, "sms", "marketing", True, "staff"),
                           (ana_id, "sms", "transactional", False, "import")]


def test_tags_added_past_the_limit_reject_the_row(app, runner, tmp_path):
    many = ";".join(f"t{n}" for n in range(30))
    more = ";".join(f"u{n}" for n in range(30))
    output = import_text(runner, tmp_path, f"first_name,phone,tags\nAna,+14155550123,{many}\n"
                                           f"Ana,+14155550123,{more}\n")
    assert (output["created"], output["rejected"]) == (1, 1)
    assert output["errors"][0]["reason"].startswith("tags: ")
    assert len(stored_contacts(app)[0].tags) == 30
