"""The console's template pages: staff read, admins edit; errors, warnings and refusals as people see them."""
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import Template
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.console import signed_in_client
from tests.support.records import audit_entries_in


def form(**overrides):
    base = {"name": "Results ready", "slug": "results-ready", "channel": "sms", "subject": "",
            "body": "Hi {{ first_name }}, your results are ready at {{ org_name }}.", "situation": "healthcare",
            "mode": "secure", "require_pin": "true", "notification_text": ""}
    base.update(overrides)
    return base


def template_id(app, slug):
    with app.app_context():
        return db.session.execute(db.select(Template.id).filter_by(slug=slug)).scalar_one()


def text(response):
    return response.get_data(as_text=True)


def test_staff_see_templates_but_cannot_change_them(app):
    client = signed_in_client(app, "staff")
    listing = client.get("/admin/templates/")
    assert listing.status_code == 200
    assert "Lab results" in text(listing) and "New template" not in text(listing)
    lab = template_id(app, "lab-results")
    details = client.get(f"/admin/templates/details/?id={lab}")
    assert details.status_code == 200 and "your lab results are ready" in text(details)
    assert "/admin/templates/edit/" not in text(details) and "/admin/templates/delete/" not in text(details)
    assert client.get("/admin/templates/new/").status_code == 403
    assert client.post("/admin/templates/new/", data=form()).status_code == 403
    assert client.get(f"/admin/templates/edit/?id={lab}").status_code == 403
    assert client.post(f"/admin/templates/delete/?id={lab}").status_code == 403
    assert template_id(app, "lab-results") == lab


def test_the_form_documents_the_fields_a_body_can_use(app):
    page = text(signed_in_client(app, "admin").get("/admin/templates/new/"))
    for field in ("{{ first_name }}", "{{ last_name }}", "{{ org_name }}", "{{ form.field_name }}",
                  "{{ appointment_date }}", "{{ link }}"):
        assert field in page.replace("&#39;", "'"), field


def test_admin_creates_a_template_and_sees_it_with_its_decision(app):
    client = signed_in_client(app, "admin")
    response = client.post("/admin/templates/new/", data=form())
    assert response.status_code == 302
    details = client.get(response.headers["Location"])
    page = text(details)
    assert "Template &#39;Results ready&#39; saved." in page
    assert "secure — set by template &#39;Results ready&#39;" in page
    assert "PIN required" in page
    assert "/admin/templates/edit/" in page  # admins get the edit link that staff do not
    assert len(audit_entries_in(app, "template.create")) == 1


def test_a_syntax_error_is_reported_with_its_line(app):
    client = signed_in_client(app, "admin")
    response = client.post("/admin/templates/new/", data=form(body="Hello\n{{ first_name }"))
    assert response.status_code == 422
    assert "line 2: unexpected &#39;}&#39;" in text(response)
    assert "Hello\n{{ first_name }" in text(response)  # what the admin typed is kept


def test_an_unknown_field_and_an_escape_are_refused_on_save(app):
    client = signed_in_client(app, "admin")
    unknown = client.post("/admin/templates/new/", data=form(body="Hi\n\n{{ diagnosis_code }}"))
    assert unknown.status_code == 422 and "line 3: unknown field &#39;diagnosis_code&#39;" in text(unknown)
    escape = client.post("/admin/templates/new/", data=form(body="{{ ''.__class__.__mro__ }}"))
    assert escape.status_code == 422 and "line 1: &#39;__mro__&#39; is not allowed" in text(escape)
    with app.app_context():
        assert db.session.execute(db.select(Template).filter_by(slug="results-ready")).first() is None


def test_a_notification_must_hold_the_link_and_nothing_but_name_and_org(app):
    client = signed_in_client(app, "admin")
    no_link = client.post("/admin/templates/new/", data=form(notification_text="{{ org_name }}: new message"))
    assert no_link.status_code == 422 and "must contain the link placeholder" in text(no_link)
    leaky = client.post("/admin/templates/new/",
                        data=form(notification_text="{{ org_name }}: about {{ appointment_date }} {{ link }}"))
    assert leaky.status_code == 422 and "may use only" in text(leaky)
    ok = client.post("/admin/templates/new/", data=form(notification_text="Hi {{ first_name }}: {{ link }}"))
    assert ok.status_code == 302


def test_standard_on_a_secure_situation_saves_with_a_warning_under_warn(app):
    client = signed_in_client(app, "admin")
    response = client.post("/admin/templates/new/", data=form(mode="standard"), follow_redirects=True)
    page = text(response)
    assert response.status_code == 200
    assert "is recommended to be sent secure, but messages from this template go standard" in page
    assert 'data-warning="secure_recommended"' in page  # the warning stays on the page, not only flashed
    assert template_id(app, "results-ready")


def test_under_block_the_admin_must_give_a_reason_which_is_audited(app):
    with app.app_context():
        get_settings().enforce_recommendations = "block"
        db.session.commit()
    client = signed_in_client(app, "admin")
    refused = client.post("/admin/templates/new/", data=form(mode="standard"))
    assert refused.status_code == 409
    assert "Blocked by policy" in text(refused) and 'name="override_reason"' in text(refused)
    with app.app_context():
        assert db.session.execute(db.select(Template).filter_by(slug="results-ready")).first() is None
    saved = client.post("/admin/templates/new/", data=form(mode="standard", override_reason="Date only, per DPO"))
    assert saved.status_code == 302
    [entry] = audit_entries_in(app, "template.policy_override")
    assert entry.detail["reason"] == "Date only, per DPO"


def test_editing_keeps_the_template_and_audits_the_change(app):
    client = signed_in_client(app, "admin")
    lab = template_id(app, "lab-results")
    page = text(client.get(f"/admin/templates/edit/?id={lab}"))
    assert 'value="lab-results"' in page
    response = client.post(f"/admin/templates/edit/?id={lab}",
                           data=form(name="Lab results (new)", slug="lab-results",
                                     body="Hello {{ first_name }}, results are in."))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Template, lab).name == "Lab results (new)"
    [entry] = audit_entries_in(app, "template.update")
    assert "name" in entry.detail["changed"]


def test_slug_must_be_unique_and_url_safe(app):
    client = signed_in_client(app, "admin")
    taken = client.post("/admin/templates/new/", data=form(slug="lab-results"))
    assert taken.status_code == 422 and "another template already uses" in text(taken)
    unsafe = client.post("/admin/templates/new/", data=form(slug="Results Ready!"))
    assert unsafe.status_code == 422 and "lower-case letters" in text(unsafe)


def test_a_secure_template_shows_that_the_portal_is_off(app):
    with app.app_context():
        get_settings().default_mode = "standard"  # the portal can only be off with a standard default
        get_settings().portal_enabled = False
        db.session.commit()
    client = signed_in_client(app, "staff")
    lab = template_id(app, "lab-results")
    page = text(client.get(f"/admin/templates/details/?id={lab}"))
    assert 'data-warning="portal_disabled"' in page and "client portal is turned off" in page
    assert 'data-warning="portal_disabled"' in text(client.get("/admin/templates/"))


def test_delete_asks_first_and_refuses_a_template_in_use(app):
    with app.app_context():
        used = make_template(slug="used-one", body="Hi {{ first_name }}", mode="standard")
        unused = make_template(slug="unused-one", body="Hi")
        send_message(MessageRequest(contact=make_contact(), channel="sms", template=used), SYSTEM)
        db.session.commit()
        used_id, unused_id = used.id, unused.id
    client = signed_in_client(app, "admin")
    confirm = client.get(f"/admin/templates/delete/?id={used_id}")
    # The page's own content has no submit button (the menu bar's Sign out is one).
    assert "cannot be deleted" in text(confirm) and 'type="submit"' not in text(confirm).split("</nav>", 1)[1]
    refused = client.post(f"/admin/templates/delete/?id={used_id}", follow_redirects=True)
    assert "was used for 1 message and cannot be deleted" in text(refused)
    assert 'type="submit"' in text(client.get(f"/admin/templates/delete/?id={unused_id}"))
    assert client.post(f"/admin/templates/delete/?id={unused_id}").status_code == 302
    with app.app_context():
        assert db.session.get(Template, unused_id) is None and db.session.get(Template, used_id) is not None
    assert len(audit_entries_in(app, "template.delete")) == 1


def test_unknown_template_is_404(app):
    client = signed_in_client(app, "staff")
    assert client.get("/admin/templates/details/?id=9999").status_code == 404
    assert client.get("/admin/templates/details/?id=abc").status_code == 404
