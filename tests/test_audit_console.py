"""The console's audit log: admins filter it by actor, action, object and time range, and export what they
selected as CSV (the export is itself audited); nothing in the console or the API writes, edits or deletes
an entry."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from messaging.audit import Actor, audit
from messaging.audit_chain import verify_chain
from messaging.db import db
from messaging.models import AuditEntry
from tests.support.console import signed_in_client

MAY = datetime(2026, 5, 1, 9, 0)


def _entries(app, clock):
    with app.app_context():
        for day, actor, action, target in ((1, "ann@example.com", "template.update", ("template", 3)),
                                           (5, "bob@example.com", "settings.change", ("settings", "org_name")),
                                           (9, "ann@example.com", "contact.consent", ("contact", 42)),
                                           (20, "api-key:billing", "contact.consent", ("contact", 43))):
            clock.at(MAY.replace(day=day))
            audit(Actor(label=actor), action, *target, marker=f"m{day}")
            db.session.commit()


def _markers(response) -> set[str]:
    text = response.get_data(as_text=True)
    return {m for m in ("m1", "m5", "m9", "m20") if f"&#34;{m}&#34;" in text or f'"{m}"' in text}


def test_filters_by_actor_action_object_and_time(app, clock):
    _entries(app, clock)
    client = signed_in_client(app, "admin")
    get = lambda query: client.get("/admin/audit/?" + query)  # noqa: E731
    assert _markers(get("")) == {"m1", "m5", "m9", "m20"}
    assert _markers(get("flt0_actor_equals=ann@example.com")) == {"m1", "m9"}
    assert _markers(get("flt0_actor_contains=api-key")) == {"m20"}
    assert _markers(get("flt0_action_equals=contact.consent")) == {"m9", "m20"}
    assert _markers(get("flt0_record_equals=contact&flt1_id_equals=42")) == {"m9"}
    assert _markers(get("flt0_when_greater_than=2026-05-04 00:00:00")) == {"m5", "m9", "m20"}
    assert _markers(get("flt0_when_between=2026-05-04 00:00:00 to 2026-05-10 00:00:00")) == {"m5", "m9"}
    empty = get("flt0_actor_equals=nobody@example.com")
    assert "No audit entry matches this filter." in empty.get_data(as_text=True)


def test_csv_export_of_the_selection_is_audited(app, clock):
    _entries(app, clock)
    client = signed_in_client(app, "admin", email="auditor@example.com")
    page = client.get("/admin/audit/")
    assert "/admin/audit/export/csv/" in page.get_data(as_text=True)
    response = client.get("/admin/audit/export/csv/?flt0_action_equals=contact.consent")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["Id"] for r in rows) == ["42", "43"]
    assert all(len(r["MAC"]) == 64 for r in rows)
    with app.app_context():
        export = db.session.execute(db.select(AuditEntry).filter_by(action="audit.export")).scalar_one()
        assert export.actor == "auditor@example.com"
        assert export.detail["filters"] == {"flt0_action_equals": "contact.consent"}
        assert export.ip_hash is not None
        assert verify_chain().ok


def test_export_cells_never_start_a_spreadsheet_formula(app):
    with app.app_context():
        audit(Actor(label="=HYPERLINK(\"http://x\")"), "user.login", "user", "-1")
        db.session.commit()
    client = signed_in_client(app, "admin")
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit/export/csv/").get_data(as_text=True))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=HYPERLINK(\"http://x\")" in cells


def test_staff_cannot_read_or_export_the_audit_log(app, clock):
    _entries(app, clock)
    client = signed_in_client(app, "staff")
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export/csv/").status_code == 403
    with app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="audit.export").count() == 0


def test_no_console_path_creates_edits_or_deletes_an_entry(app, clock):
    _entries(app, clock)
    client = signed_in_client(app, "admin")
    with app.app_context():
        first = db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars().first()
        before = [(e.id, e.actor, e.action, e.detail, e.mac)
                  for e in db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    attempts = [("get", "/admin/audit/new/", {}),
                ("post", "/admin/audit/new/", {"actor": "x", "action": "forged"}),
                ("get", f"/admin/audit/edit/?id={first.id}", {}),
                ("post", f"/admin/audit/edit/?id={first.id}", {"actor": "x", "action": "forged"}),
                ("post", "/admin/audit/delete/", {"id": str(first.id)}),
                ("post", "/admin/audit/action/", {"action": "delete", "rowid": str(first.id)}),
                ("get", f"/admin/audit/details/?id={first.id}", {})]
    for method, url, data in attempts:
        response = getattr(client, method)(url, data=data)
        assert response.status_code in (302, 403, 404, 405), (url, response.status_code)
        if response.status_code == 302:  # Flask-Admin's "not allowed" goes back to the list, changing nothing
            assert "/admin/audit/" in response.headers["Location"]
    with app.app_context():
        after = [(e.id, e.actor, e.action, e.detail, e.mac)
                 for e in db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars()]
        assert after[:len(before)] == before
        assert not [e for e in after if e[2] == "forged"]
        assert verify_chain().ok


def test_no_route_of_any_face_writes_to_the_audit_log(app):
    writing = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
        if "audit" in rule.rule and methods:
            writing.append(f"{rule.rule} {sorted(methods)}")
        if rule.rule.startswith("/api/") and "audit" in rule.rule:
            writing.append(f"{rule.rule} (the API has no audit route at all)")
    # Flask-Admin registers its generic create/edit/delete/action endpoints on every model view; the
    # view refuses them (test above). Every other face has none.
    assert all(r.startswith("/admin/audit/") for r in writing), writing
