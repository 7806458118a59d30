"""The console's GDPR actions on the contact page (admins only): the JSON export download, audited, and erasure
behind a typed confirmation, then a result page; an erased contact is shown as erased."""
from __future__ import annotations

import json

from messaging.db import db
from messaging.models import AuditEntry
from tests.support.console import csrf_token_from, signed_in_client
from tests.support.raw_scan import FIRST, SECURE_BODY, STAFF_FILE, distinctive_contact, reload_contact


def _contact_page(client, contact_id: int):
    page = client.get(f"/admin/contacts/details/?id={contact_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_staff_see_no_privacy_actions_and_are_refused_them(csrf_app):
    with csrf_app.app_context():
        scene = distinctive_contact()
    staff = signed_in_client(csrf_app, "staff")
    html = _contact_page(staff, scene.contact_id)
    assert "data-privacy-actions" not in html
    assert staff.get(f"/admin/privacy/{scene.contact_id}/erase").status_code == 403
    assert staff.post(f"/admin/privacy/{scene.contact_id}/export").status_code in (400, 403)
    with csrf_app.app_context():
        assert reload_contact(scene.contact_id).first_name == FIRST
        assert db.session.scalars(db.select(AuditEntry).filter_by(action="contact.export")).all() == []


def test_an_admin_downloads_the_export_as_json_and_it_is_audited(csrf_app):
    with csrf_app.app_context():
        scene = distinctive_contact()
    admin = signed_in_client(csrf_app, "admin", email="boss@example.com")
    html = _contact_page(admin, scene.contact_id)
    assert "Export everything (JSON)" in html and "Erase contact…" in html
    download = admin.post(f"/admin/privacy/{scene.contact_id}/export", data={"csrf_token": csrf_token_from(html)})
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == f'attachment; filename="contact-{scene.contact_id}-export.json"'
    assert download.headers["Cache-Control"] == "no-store"
    document = json.loads(download.data)
    assert document["contact"]["first_name"] == FIRST
    bodies = [m["body"] for m in document["messages"]]
    assert SECURE_BODY in bodies
    assert STAFF_FILE in [a["filename"] for m in document["messages"] for a in m["attachments"]]
    with csrf_app.app_context():
        entries = db.session.scalars(db.select(AuditEntry).filter_by(action="contact.export")).all()
        assert [(e.actor, e.target_type, e.target_id) for e in entries] \
            == [("boss@example.com", "contact", str(scene.contact_id))]


def test_erasure_asks_for_the_typed_id_then_shows_what_it_did(csrf_app):
    with csrf_app.app_context():
        scene = distinctive_contact()
    admin = signed_in_client(csrf_app, "admin", email="boss@example.com")
    url = f"/admin/privacy/{scene.contact_id}/erase"
    page = admin.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cannot be undone" in html and f"type the contact's id (<strong>{scene.contact_id}</strong>)" in html
    token = csrf_token_from(html)

    wrong = admin.post(url, data={"csrf_token": token, "confirm": "yes please"})
    assert wrong.status_code == 422 and "Nothing was erased" in wrong.get_data(as_text=True)
    with csrf_app.app_context():
        assert reload_contact(scene.contact_id).erased_at is None
    assert admin.post(url, data={"confirm": str(scene.contact_id)}).status_code == 400  # no CSRF token: refused

    done = admin.post(url, data={"csrf_token": token, "confirm": str(scene.contact_id)})
    assert done.status_code == 200
    result = done.get_data(as_text=True)
    assert f"Contact {scene.contact_id} erased" in result and "4 messages&#39; content destroyed" in result
    with csrf_app.app_context():
        assert reload_contact(scene.contact_id).first_name == "Erased"
        entries = db.session.scalars(db.select(AuditEntry).filter_by(action="contact.erase")).all()
        assert [(e.actor, e.target_id) for e in entries] == [("boss@example.com", str(scene.contact_id))]

    contact_html = _contact_page(admin, scene.contact_id)
    assert "data-contact-erased" in contact_html and "Erase contact…" not in contact_html
    assert FIRST not in contact_html
    again = admin.get(url).get_data(as_text=True)
    assert "nothing left to erase" in again
    assert admin.post(url, data={"csrf_token": token, "confirm": "ERASE"}).status_code == 200
    with csrf_app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).filter_by(action="contact.erase")) == 1
