"""Templates over the API: any key lists them, admin keys create them, with the sandbox's checks."""
from __future__ import annotations

from messaging.db import db
from messaging.models import Template
from messaging.settings import get_settings
from tests.support.api import assert_error, caller
from tests.support.records import audit_entries_in

VALID = {"name": "Test results", "slug": "test-results", "channel": "sms",
         "body": "Hello {{ first_name }},\nyour results from {{ org_name }} are ready.", "situation": "healthcare",
         "mode": "secure", "require_pin": True,
         "notification_text": "{{ org_name }}: a secure message for {{ first_name }}: {{ link }}"}


def test_any_key_lists_the_templates(app):
    response = caller(app, "staff").get("/templates")
    assert response.status_code == 200
    by_slug = {t["slug"]: t for t in response.json["templates"]}
    assert {"lab-results", "appointment-reminder", "booking-confirmation", "billing-statement"} <= set(by_slug)
    lab = by_slug["lab-results"]
    assert (lab["mode"], lab["require_pin"], lab["situation"], lab["channel"]) == ("secure", True, "healthcare", "sms")
    assert by_slug["appointment-reminder"]["require_pin"] == "inherit"


def test_an_admin_key_creates_a_template_and_it_is_audited(app):
    api = caller(app, "admin")
    response = api.post("/templates", json=VALID)
    assert response.status_code == 201, response.json
    template = response.json
    assert template["id"] > 0 and template["slug"] == "test-results" and template["warnings"] == []
    assert (template["mode"], template["require_pin"], template["situation"]) == ("secure", True, "healthcare")
    assert template["notification_text"] == VALID["notification_text"]
    with app.app_context():
        stored = db.session.execute(db.select(Template).filter_by(slug="test-results")).scalar_one()
        assert stored.require_pin == "true"
    [entry] = audit_entries_in(app, "template.create")
    assert entry.target_id == str(template["id"]) and entry.api_key_id is not None
    assert "test-results" in [t["slug"] for t in api.get("/templates").json["templates"]]

    # The new template is usable at once, and decides.
    contact = api.post("/contacts", json={"first_name": "Ann", "phone": "+14155550104"}).json
    preview = api.post("/messages/preview", json={"contact_id": contact["id"], "channel": "sms",
                                                  "template": "test-results"}).json
    assert preview["decided_by"] == "template"
    assert preview["client_text"].startswith("Sealed demo clinic: a secure message for Ann: ")


def test_require_pin_takes_booleans_strings_and_inherit(app):
    api = caller(app, "admin")
    for n, (given, shown, stored) in enumerate([(False, False, "false"), ("true", True, "true"),
                                                ("inherit", "inherit", "inherit"), (None, "inherit", "inherit")]):
        body = {**VALID, "slug": f"pin-{n}", "require_pin": given}
        answer = api.post("/templates", json=body)
        assert answer.status_code == 201, answer.json
        assert answer.json["require_pin"] == shown
        with app.app_context():
            assert db.session.execute(db.select(Template).filter_by(slug=f"pin-{n}")).scalar_one().require_pin == stored
    assert_error(api.post("/templates", json={**VALID, "slug": "pin-x", "require_pin": "sometimes"}), 422, "invalid",
                 ("require_pin",))


def test_a_duplicate_slug_is_a_422_on_slug(app):
    api = caller(app, "admin")
    error = assert_error(api.post("/templates", json={**VALID, "slug": "lab-results"}), 422, "invalid", ("slug",))
    assert "lab-results" in error["fields"]["slug"]


def test_a_syntax_error_is_reported_with_its_line(app):
    api = caller(app, "admin")
    error = assert_error(api.post("/templates", json={**VALID, "body": "Hello {{ first_name }},\nsee {{ org_name"}),
                         422, "invalid", ("body",))
    assert error["fields"]["body"].startswith("line 2")


def test_an_unknown_field_is_reported_with_its_line(app):
    api = caller(app, "admin")
    error = assert_error(api.post("/templates", json={**VALID, "body": "Hello {{ first_name }},\n\n{{ diagnosis }}"}),
                         422, "invalid", ("body",))
    assert "line 3" in error["fields"]["body"] and "diagnosis" in error["fields"]["body"]


def test_sandbox_escapes_are_refused(app):
    api = caller(app, "admin")
    for hostile in ("{{ ''.__class__.__mro__ }}", "{{ first_name.__class__ }}", "{{ cycler.__init__.__globals__ }}"):
        response = api.post("/templates", json={**VALID, "body": hostile})
        assert_error(response, 422, "invalid", ("body",))
    with app.app_context():
        assert db.session.execute(db.select(Template).filter_by(slug="test-results")).first() is None


def test_the_notification_must_hold_the_link_and_nothing_but_name_and_org(app):
    api = caller(app, "admin")
    error = assert_error(api.post("/templates", json={**VALID, "notification_text": "{{ org_name }}: new message"}),
                         422, "invalid", ("notification_text",))
    assert "link" in error["fields"]["notification_text"]
    error = assert_error(api.post("/templates", json={
        **VALID, "notification_text": "{{ org_name }}: {{ last_name }}, open {{ link }}"}),
        422, "invalid", ("notification_text",))
    assert "last_name" in error["fields"]["notification_text"]


def test_each_invalid_template_field_is_named(app):
    api = caller(app, "admin")
    response = api.post("/templates", json={"name": "", "slug": "Not A Slug", "channel": "fax", "body": "Hi",
                                            "mode": "sometimes", "situation": "astrology"})
    assert_error(response, 422, "invalid", ("channel", "mode"))
    response = api.post("/templates", json={"name": "", "slug": "Not A Slug", "channel": "sms", "body": " ",
                                            "situation": "astrology"})
    assert_error(response, 422, "invalid", ("name", "slug", "body", "situation"))
    assert_error(api.post("/templates", json={"slug": "x"}), 422, "invalid", ("name", "channel", "body"))


def test_standard_against_a_secure_recommendation_warns_or_needs_a_reason_under_block(app):
    api = caller(app, "admin")
    body = {**VALID, "slug": "plain-results", "mode": "standard"}
    warned = api.post("/templates", json=body)
    assert warned.status_code == 201
    assert [w["code"] for w in warned.json["warnings"]] == ["secure_recommended"]

    with app.app_context():
        get_settings().enforce_recommendations = "block"
        db.session.commit()
    assert_error(api.post("/templates", json={**body, "slug": "plain-2"}), 409, "blocked_by_policy",
                 ("override_reason",))
    allowed = api.post("/templates", json={**body, "slug": "plain-2", "override_reason": "Results are just 'ready'"})
    assert allowed.status_code == 201
    [override] = audit_entries_in(app, "template.policy_override")
    assert override.detail["reason"] == "Results are just 'ready'"
