"""Saving templates through messaging.policy.templates: field checks, the sandbox, the notice rule, the policy."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.messages import MessageRequest, send_message
from messaging.models import AuditEntry, Template
from messaging.policy.templates import delete_template, save_template, template_warnings
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template

ADMIN = Actor("admin@example.com", user_id=None, role="admin")
STAFF = Actor("staff@example.com", user_id=None, role="staff")


def data(**overrides):
    base = {"name": "Visit follow-up", "slug": "visit-follow-up", "channel": "sms",
            "body": "Hi {{ first_name }}, thanks for visiting {{ org_name }} on {{ appointment_date }}.",
            "situation": "appointment_reminder", "mode": "inherit", "require_pin": "inherit"}
    base.update(overrides)
    return base


def errors_for(ctx_data, template=None):
    with pytest.raises(ValidationFailed) as caught:
        save_template(ctx_data, ADMIN, template)
    return caught.value.fields


def audits(action):
    return db.session.execute(db.select(AuditEntry).filter_by(action=action)).scalars().all()


def test_a_valid_template_is_saved_and_audited(ctx):
    template, warnings = save_template(data(require_pin=True), ADMIN)
    db.session.commit()
    assert template.id and template.slug == "visit-follow-up" and template.require_pin == "true"
    assert template.situation.key == "appointment_reminder"
    assert warnings == []
    [entry] = audits("template.create")
    assert entry.target_id == str(template.id) and entry.detail["slug"] == "visit-follow-up"


def test_update_keeps_fields_not_given_and_audits_what_changed(ctx):
    template, _ = save_template(data(), ADMIN)
    save_template({"name": "Renamed"}, ADMIN, template)
    db.session.commit()
    assert template.name == "Renamed" and template.slug == "visit-follow-up"
    [entry] = audits("template.update")
    assert entry.detail["changed"] == ["name"]


@pytest.mark.parametrize("overrides, field, text", [
    ({"name": " "}, "name", "is required"),
    ({"slug": "Lab Results!"}, "slug", "lower-case"),
    ({"slug": "lab-results"}, "slug", "already uses 'lab-results'"),
    ({"channel": "fax"}, "channel", "must be one of"),
    ({"subject": "Hello"}, "subject", "only e-mail templates have a subject"),
    ({"body": ""}, "body", "is required"),
    ({"body": "Hi {{ first_name }}\n{{ diagnosis }}"}, "body", "line 2: unknown field 'diagnosis'"),
    ({"body": "Hi {{ first_name }\n"}, "body", "line 1: unexpected '}'"),
    ({"body": "Line one\nHi {{ first_name }"}, "body", "line 2: unexpected '}'"),
    ({"body": "{{ ''.__class__ }}"}, "body", "line 1: '__class__' is not allowed"),
    ({"body": "{{ first_name.__class__.__mro__[1].__subclasses__() }}"}, "body", "not allowed"),
    ({"body": "{{ first_name|attr('__globals__') }}"}, "body", "not allowed"),
    ({"body": "ok\n{{ first_name + 1 }}"}, "body", "line 2: TypeError"),
    ({"body": "Hi\x00there"}, "body", "control characters"),
    ({"situation": "astrology"}, "situation", "no situation with key 'astrology'"),
    ({"mode": "private"}, "mode", "inherit, secure or standard"),
    ({"require_pin": "maybe"}, "require_pin", "inherit, true or false"),
    ({"notification_text": "{{ org_name }}: a message for you"}, "notification_text", "{{ link }}"),
    ({"notification_text": "{{ org_name }}: {% if false %}{{ link }}{% endif %}"}, "notification_text",
     "{{ link }}"),
    ({"notification_text": "{{ org_name }}: your {{ appointment_date }} results {{ link }}"},
     "notification_text", "may use only"),
    ({"notification_text": "Hi {{ first_name }} {{ last_name }} {{ link }}"}, "notification_text",
     "not 'last_name'"),
    ({"notification_text": "{{ link.__class__ }}"}, "notification_text", "not allowed"),
])
def test_bad_input_is_reported_per_field(ctx, overrides, field, text):
    fields = errors_for(data(**overrides))
    assert text in fields[field], fields


def test_windows_line_endings_from_a_browser_are_stored_as_newlines(ctx):
    template, _ = save_template(data(body="Hi {{ first_name }}\r\nSee you soon"), ADMIN)
    assert template.body == "Hi {{ first_name }}\nSee you soon"


def test_form_fields_and_appointment_shortcuts_are_allowed(ctx):
    template, _ = save_template(data(body="{{ appointment_time }} with {{ form.provider }} "
                                          "{% if form.room %}in {{ form.room }}{% endif %}"), ADMIN)
    assert template.id


def test_a_good_notification_text_is_accepted(ctx):
    template, _ = save_template(data(notification_text="{{ org_name }}: Hi {{ first_name }}, read it at "
                                                       "{{ link }}"), ADMIN)
    assert template.notification_text.endswith("{{ link }}")


def test_an_email_template_may_have_a_checked_subject(ctx):
    assert "unknown field 'balance'" in errors_for(data(channel="email", subject="Your {{ balance }}"))["subject"]
    template, _ = save_template(data(channel="email", subject="Visit to {{ org_name }}"), ADMIN)
    assert template.subject == "Visit to {{ org_name }}"


def test_standard_on_a_secure_situation_warns_under_warn(ctx):
    template, warnings = save_template(data(situation="healthcare", mode="standard"), ADMIN)
    assert [w.code for w in warnings] == ["secure_recommended"]
    assert "Healthcare" in warnings[0].message and template.id
    assert audits("template.policy_override") == []


def test_inheriting_a_standard_global_default_on_a_secure_situation_warns_too(ctx):
    get_settings().default_mode = "standard"
    _, warnings = save_template(data(situation="healthcare", mode="inherit"), ADMIN)
    assert "the global default" in warnings[0].message


def test_under_block_a_contradiction_needs_an_admin_and_a_reason(ctx):
    get_settings().enforce_recommendations = "block"
    with pytest.raises(PolicyRefused) as staff:
        save_template(data(situation="healthcare", mode="standard"), STAFF, override_reason="because")
    assert "Only an admin" in staff.value.message
    with pytest.raises(PolicyRefused) as no_reason:
        save_template(data(situation="healthcare", mode="standard"), ADMIN)
    assert "override_reason" in no_reason.value.fields
    assert db.session.execute(db.select(Template).filter_by(slug="visit-follow-up")).first() is None
    template, _ = save_template(data(situation="healthcare", mode="standard"), ADMIN,
                                override_reason="Only the date goes out; approved by compliance")
    db.session.commit()
    [entry] = audits("template.policy_override")
    assert entry.detail["reason"] == "Only the date goes out; approved by compliance"
    assert entry.detail["blocked_by"] == ["secure_recommended"]
    assert entry.target_id == str(template.id)


def test_protected_looking_text_in_a_standard_template_is_a_policy_warning(ctx):
    _, warnings = save_template(data(body="Hi {{ first_name }}, your biopsy results are in.", mode="standard"),
                                ADMIN)
    assert [w.code for w in warnings] == ["protected_content"]
    assert "the word 'biopsy'" in warnings[0].message
    _, secure = save_template(data(slug="secure-one", body="Your biopsy results are in.", mode="secure"),
                              ADMIN)
    assert secure == []


def test_portal_disabled_is_shown_for_a_secure_template(ctx):
    get_settings().default_mode = "standard"  # the portal can only be off with a standard default
    get_settings().portal_enabled = False
    template, warnings = save_template(data(mode="secure"), ADMIN)
    assert [w.code for w in warnings] == ["portal_disabled"]
    assert [w.code for w in template_warnings(template)] == ["portal_disabled"]


def test_a_template_used_by_a_message_cannot_be_deleted(ctx):
    template = make_template(body="Hi {{ first_name }}", mode="standard")
    unused = make_template(body="Hi")
    send_message(MessageRequest(contact=make_contact(), channel="sms", template=template), ADMIN)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        delete_template(ADMIN, template)
    assert caught.value.code == "template_in_use" and "1 message" in caught.value.message
    delete_template(ADMIN, unused)
    db.session.commit()
    assert db.session.get(Template, unused.id) is None
    assert audits("template.delete")[0].detail["slug"] == unused.slug


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(min_size=1, max_size=80), notice=st.text(max_size=40))
def test_random_text_never_raises_anything_but_validation_failed(ctx, body, notice):
    try:
        with db.session.no_autoflush:
            save_template(data(body=body, notification_text=notice), ADMIN)
    except ValidationFailed as exc:
        assert exc.fields
    finally:
        db.session.rollback()
