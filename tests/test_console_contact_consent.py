"""A contact's page in the console: the new fields, form data as a table, the consent state and history, a staff
grant or withdrawal, and both exported as CSV."""
from __future__ import annotations

import csv
import io
import re
from html import unescape

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Contact
from messaging.people.consent import consent_history, consent_map, record_consent
from messaging.policy.optout import mark_opted_out
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.records import audit_entries


def _details(client, contact_id: int) -> str:
    response = client.get(f"/admin/contacts/details/?id={contact_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _cell(page: str, key: str) -> str:
    match = re.search(rf'data-consent="{key}" data-granted="(true|false)"', page)
    assert match, key
    return match.group(1)


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_page_shows_the_new_fields_form_data_as_a_table_and_the_consent_grid(app):
    with app.app_context():
        contact = make_contact(first_name="Marta", phone="+34 612 345 678", language="es", date_of_birth="1984-03-14",
                               form_data={"plan": "gold", "visits": 3, "insured": True})
        mark_opted_out(contact, source="keyword")
        db.session.commit()
        contact_id = contact.id
    page = _details(signed_in_client(app, "staff"), contact_id)
    assert "Spanish (es)" in page and "1984-03-14" in page
    assert "not set: the organisation's zone" in unescape(page)  # Spain has two zones: none was guessed
    table = page[page.index("data-form-data"):page.index('id="consent"')]
    assert re.search(r"<td>insured</td>\s*<td>yes</td>", table) and re.search(r"<td>plan</td>\s*<td>gold</td>", table)
    assert re.search(r"<td>visits</td>\s*<td>3</td>", table)
    assert [_cell(page, f"{c}:{p}") for c in ("sms", "email", "voice") for p in ("transactional", "marketing")] == [
        "false", "false", "true", "false", "false", "false"]
    history = page[page.index("data-consent-history"):]
    assert history.count("<tr>") == 3 and "keyword" in history and "sms-keyword" in history
    assert "Download state (CSV)" in page and "Download history (CSV)" in page


def test_staff_record_a_grant_with_a_note_and_it_heads_the_history(app):
    with app.app_context():
        contact_id = make_contact(first_name="Nadia").id
    staff = signed_in_client(app, "staff", email="clerk@example.com")
    response = staff.post(f"/admin/contacts/consent/?id={contact_id}", data={
        "channel": "email", "purpose": "marketing", "decision": "grant", "note": "Ticked the box at reception"})
    assert response.status_code == 302
    page = unescape(_details(staff, contact_id))
    assert "Granted marketing consent on E-mail for Nadia" in page
    assert _cell(page, "email:marketing") == "true"
    first_row = page[page.index("data-consent-history"):].split("</tr>")[1]
    for text in ("E-mail", "Marketing", "granted", "staff", "clerk@example.com", "Ticked the box at reception"):
        assert text in first_row, text
    with app.app_context():
        [entry] = consent_history(db.session.get(Contact, contact_id))
        assert (entry.source, entry.actor, entry.user_id is not None) == ("staff", "clerk@example.com", True)
        assert audit_entries("contact.consent")[0].detail == {"channel": "email", "purpose": "marketing",
                                                              "granted": True, "source": "staff",
                                                              "old": False, "new": True}


def test_a_bad_consent_form_records_nothing_and_keeps_what_was_typed(app):
    with app.app_context():
        contact_id = make_contact().id
    staff = signed_in_client(app, "staff")
    response = staff.post(f"/admin/contacts/consent/?id={contact_id}", data={
        "channel": "fax", "purpose": "marketing", "decision": "", "note": "Please keep this note"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was recorded" in page and "choose Grant or Withdraw" in page and "must be one of" in page
    assert "Please keep this note" in page
    too_long = staff.post(f"/admin/contacts/consent/?id={contact_id}", data={
        "channel": "sms", "purpose": "marketing", "decision": "grant", "note": "n" * 1001})
    assert too_long.status_code == 422 and "at most 1,000 characters" in too_long.get_data(as_text=True)
    with app.app_context():
        assert consent_history(db.session.get(Contact, contact_id)) == []
    assert staff.post("/admin/contacts/consent/?id=999999", data={}).status_code == 404


def test_the_state_and_the_history_download_as_csv(app, clock):
    with app.app_context():
        contact = make_contact(first_name="Omar")
        clock.ahead(minutes=0)
        record_consent(contact, "sms", "marketing", True, "import", SYSTEM, note="from the spring list")
        record_consent(contact, "voice", "transactional", False, "staff", SYSTEM, note="no calls, please")
        db.session.commit()
        contact_id = contact.id
    staff = signed_in_client(app, "staff")
    state = _csv(staff.get(f"/admin/contacts/consent.csv?id={contact_id}"))
    assert f"contact-{contact_id}-consent.csv" in staff.get(
        f"/admin/contacts/consent.csv?id={contact_id}").headers["Content-Disposition"]
    assert [(r["channel"], r["purpose"], r["state"], r["recorded"]) for r in state] == [
        ("sms", "transactional", "granted", "no (default)"), ("sms", "marketing", "granted", "yes"),
        ("email", "transactional", "granted", "no (default)"), ("email", "marketing", "withdrawn", "no (default)"),
        ("voice", "transactional", "withdrawn", "yes"), ("voice", "marketing", "withdrawn", "no (default)")]
    assert state[1]["source"] == "import" and state[1]["note"] == "from the spring list"
    assert state[1]["since"].endswith("Z") and state[0]["since"] == ""

    history = _csv(staff.get(f"/admin/contacts/consent-history.csv?id={contact_id}"))
    assert [(r["channel"], r["purpose"], r["state"], r["source"], r["note"]) for r in history] == [
        ("voice", "transactional", "withdrawn", "staff", "no calls, please"),
        ("sms", "marketing", "granted", "import", "from the spring list")]
    assert {e.detail["what"] for e in audit_entries_in_app(app)} == {"state", "history"}


def audit_entries_in_app(app):
    with app.app_context():
        entries = audit_entries("contact.consent_export")
        db.session.expunge_all()
        return entries


def test_csv_cells_that_would_be_formulas_are_made_text(app):
    with app.app_context():
        contact = make_contact()
        for note in ("=HYPERLINK(\"http://evil.example\",\"x\")", "+1 555", "-2+3", "@SUM(A1)", "plain note"):
            record_consent(contact, "email", "marketing", True, "staff", SYSTEM, note=note)
        db.session.commit()
        contact_id = contact.id
    history = _csv(signed_in_client(app, "staff").get(f"/admin/contacts/consent-history.csv?id={contact_id}"))
    assert [r["note"] for r in history] == ["plain note", "'@SUM(A1)", "'-2+3", "'+1 555",
                                            "'=HYPERLINK(\"http://evil.example\",\"x\")"]
    state = _csv(signed_in_client(app, "staff").get(f"/admin/contacts/consent.csv?id={contact_id}"))
    assert [r["note"] for r in state if r["note"]] == ["plain note"]


def test_exports_need_a_signed_in_user_and_a_real_contact(app):
    with app.app_context():
        contact_id = make_contact().id
    anonymous = app.test_client().get(f"/admin/contacts/consent.csv?id={contact_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert signed_in_client(app, "staff").get("/admin/contacts/consent-history.csv?id=999999").status_code == 404


def test_the_form_has_the_new_fields_and_the_consent_boxes_follow_the_ledger(app):
    with app.app_context():
        contact = make_contact(first_name="Ines", phone="+14155550160", timezone="Europe/Lisbon",
                               date_of_birth="1990-01-31")
        record_consent(contact, "email", "marketing", True, "staff", SYSTEM)
        db.session.commit()
        contact_id = contact.id
    staff = signed_in_client(app, "staff")
    form = staff.get(f"/admin/contacts/edit/?id={contact_id}").get_data(as_text=True)
    assert 'value="Europe/Lisbon"' in form and 'value="1990-01-31"' in form and 'name="language"' in form
    boxes = {re.search(r'id="(\w+)"', tag).group(1): " checked" in tag
             for tag in re.findall(r"<input[^>]*_consent[^>]*>", form)}
    assert boxes == {"sms_consent": True, "marketing_consent": True}
    # Saved as shown: marketing stays on e-mail only (the box showed "some channel"), nothing is added.
    saved = staff.post(f"/admin/contacts/edit/?id={contact_id}", data={
        "first_name": "Ines", "last_name": "Carvalho", "phone": "+14155550160", "email": "", "tags": "",
        "language": "es", "timezone": "Europe/Lisbon", "date_of_birth": "1990-01-31", "sms_consent": "y",
        "marketing_consent": "y"})
    assert saved.status_code == 302
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.language == "es" and len(consent_history(contact)) == 1
    # Unticking SMS consent is a withdrawal by staff.
    staff.post(f"/admin/contacts/edit/?id={contact_id}", data={
        "first_name": "Ines", "phone": "+14155550160", "language": "es", "timezone": "Europe/Lisbon",
        "marketing_consent": "y"})
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert consent_map(contact)["sms"]["transactional"] is False
        assert consent_history(contact)[0].source == "staff"


def test_bad_new_fields_show_clear_errors_and_keep_the_input(app):
    staff = signed_in_client(app, "staff")
    blank = staff.get("/admin/contacts/new/").get_data(as_text=True)
    # A new contact starts as the ledger's default: transactional texts yes, marketing no.
    assert {re.search(r'id="(\w+)"', tag).group(1): " checked" in tag
            for tag in re.findall(r"<input[^>]*_consent[^>]*>", blank)} == {"sms_consent": True,
                                                                           "marketing_consent": False}
    response = staff.post("/admin/contacts/new/", data={
        "first_name": "Tess", "phone": "+14155550170", "language": "en", "timezone": "Mars/Olympus",
        "date_of_birth": "31/01/1990"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "IANA time zone" in page and "YYYY-MM-DD" in page
    assert 'value="Mars/Olympus"' in page and 'value="31/01/1990"' in page and 'value="Tess"' in page
    created = staff.post("/admin/contacts/new/", data={"first_name": "Tess", "phone": "+14155550170",
                                                       "language": "en"})
    assert created.status_code == 302
    with app.app_context():
        tess = db.session.execute(db.select(Contact).filter_by(first_name="Tess")).scalar_one()
        assert tess.timezone == "America/Los_Angeles"  # from the number: one zone
