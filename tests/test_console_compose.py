"""The compose page: validation, the live preview, the secure toggle and the policy refusals."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.models import AuditEntry, Contact, Delivery, Message, OutboxEntry, Template
from messaging.settings import change_setting
from seeds.factories import make_contact, situation
from tests.support.console import csrf_token_from, signed_in_client


def sign_in(app, role="staff", email=None):
    return signed_in_client(app, role, email or f"{role}@example.com")


def contact_id(app, **fields) -> int:
    with app.app_context():
        return make_contact(**fields).id


def template_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.execute(db.select(Template.id).filter_by(slug=slug)).scalar_one()


def set_setting(app, key, value):
    with app.app_context():
        change_setting(SYSTEM, key, value)
        db.session.commit()


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                     for model in (Message, Delivery, OutboxEntry))


def sms_alert_shown(page: str) -> bool:
    match = re.search(r'<div class="alert alert-warning([^"]*)"[^>]*data-sms-alert', page)
    assert match, "the page has no SMS alert element"
    return "d-none" not in match.group(1)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def staff(app):
    return sign_in(app, "staff")


def test_compose_requires_sign_in(app, client):
    assert client.get("/admin/compose/").status_code == 302
    assert client.post("/admin/compose/preview", data={}).status_code == 302


def test_validation_errors_show_next_to_fields_and_keep_the_input(app, staff):
    cid = contact_id(app, phone=None, email="nophone@example.com")
    response = staff.post("/admin/compose/", data={
        "contact_id": cid, "channel": "sms", "body": "Your parcel is ready at the front desk", "action": "send"})
    page = text(response)
    assert response.status_code == 422
    assert "The contact has no phone number" in page
    assert ">Your parcel is ready at the front desk</textarea>" in page
    assert f'<option value="{cid}" selected>' in page.replace("\n", "")
    assert counts(app) == (0, 0, 0)

    empty = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "email", "subject": "About Friday",
                                                 "body": "   ", "action": "send"})
    page = text(empty)
    assert empty.status_code == 422
    assert "Write a message or choose a template" in page
    assert 'value="About Friday"' in page
    assert counts(app) == (0, 0, 0)


def test_bad_send_time_is_refused_and_kept(app, staff):
    cid = contact_id(app)
    response = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "Hello",
                                                    "send_at": "2001-01-01T09:00", "action": "send"})
    assert response.status_code == 422
    assert "Choose a time in the future (UTC)" in text(response)
    assert 'value="2001-01-01T09:00"' in text(response)
    assert counts(app) == (0, 0, 0)


def test_preview_answers_decision_and_client_text_and_sends_nothing(app, staff):
    cid = contact_id(app, first_name="Robin")
    before = counts(app)
    answer = staff.post("/admin/compose/preview", data={
        "contact_id": cid, "channel": "sms", "template_id": template_id(app, "lab-results")}).get_json()
    assert answer["decision"]["mode"] == "secure"
    assert answer["decision"]["reason"] == "secure — set by template 'Lab results'"
    assert answer["decision"]["recommendation"] == "secure"
    assert answer["client_text"].startswith("Sealed demo clinic: you have a new secure message. Open: ")
    assert "/m/" in answer["client_text"]
    assert "secure — set by template 'Lab results'" in html.unescape(answer["html"])
    assert "Healthcare / HIPAA-adjacent (PHI)" in html.unescape(answer["html"])
    assert counts(app) == before


def test_standard_preview_shows_the_exact_text_the_client_gets(app, staff):
    cid = contact_id(app, first_name="Robin")
    answer = staff.post("/admin/compose/preview", data={
        "contact_id": cid, "channel": "sms", "template_id": template_id(app, "appointment-reminder")}).get_json()
    assert answer["decision"]["mode"] == "standard"
    assert answer["client_text"] == ("Hi Robin, a reminder of your appointment with Sealed demo clinic. "
                                     "Reply if you need to change it.")
    assert answer["client_text"] in html.unescape(answer["html"])


def test_secure_preview_never_contains_the_body(app, staff):
    cid = contact_id(app)
    body = "Your biopsy came back benign, no further treatment needed"
    answer = staff.post("/admin/compose/preview", data={
        "contact_id": cid, "channel": "email", "subject": "Biopsy outcome", "body": body,
        "secure": "1", "secure_touched": "1"}).get_json()
    assert answer["decision"]["mode"] == "secure"
    assert answer["decision"]["decided_by"] == "one_off"
    assert body not in answer["client_text"] and "biopsy" not in answer["html"].lower()
    assert answer["client_subject"] == "A secure message from Sealed demo clinic"


def test_preview_lists_what_is_missing_without_failing(app, staff):
    cid = contact_id(app)
    answer = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "sms", "body": ""}).get_json()
    assert answer["client_text"] is None
    assert answer["problems"] == {"body": "write a message or choose a template"}
    assert answer["decision"]["reason"] == "secure — set by the global default"


def test_sms_alert_shows_while_the_toggle_is_off_for_sms(app, staff):
    cid = contact_id(app)
    # The global default is secure: the untouched toggle is on, no alert.
    page = text(staff.get(f"/admin/compose/?contact_id={cid}"))
    assert re.search(r'id="secure" name="secure" value="1"\s+checked', page)
    assert not sms_alert_shown(page)

    off = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "See you soon",
                                              "secure_initial": "1", "action": "preview"})
    assert off.status_code == 200 and sms_alert_shown(text(off))
    assert "SMS is not secure." in text(off)

    email_off = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "email", "body": "See you soon",
                                                    "secure_initial": "1", "action": "preview"})
    assert not sms_alert_shown(text(email_off))

    answer = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "sms", "body": "Hi",
                                                        "secure_touched": "1"}).get_json()
    assert answer["sms_alert"] is True and answer["toggle_on"] is False
    assert answer["decision"]["mode"] == "standard" and answer["decision"]["decided_by"] == "one_off"


def test_untouched_toggle_follows_the_rules_and_a_touched_one_decides(app, staff):
    cid = contact_id(app)
    reminder = template_id(app, "appointment-reminder")
    # Rendered off (the template says standard) and posted unchanged: the template decides.
    untouched = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "sms",
                                                           "template_id": reminder, "secure_initial": "0"}).get_json()
    assert untouched["decision"]["decided_by"] == "template" and untouched["toggle_on"] is False
    # Switched on without JavaScript: differs from how it was rendered, so it is this message's choice.
    switched = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "sms", "template_id": reminder,
                                                          "secure_initial": "0", "secure": "1"}).get_json()
    assert switched["decision"]["decided_by"] == "one_off" and switched["decision"]["mode"] == "secure"


def test_portal_disabled_hides_the_toggle_and_refuses_a_secure_template(app, staff):
    set_setting(app, "default_mode", "standard")  # the portal cannot be off while secure is the default
    set_setting(app, "portal_enabled", "false")
    cid = contact_id(app)
    page = text(staff.get(f"/admin/compose/?contact_id={cid}"))
    assert 'name="secure"' not in page and "Send securely" not in page

    lab = template_id(app, "lab-results")
    answer = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "sms", "template_id": lab,
                                                        "secure": "1", "secure_touched": "1"}).get_json()
    assert answer["decision"]["blocked_by"] == ["portal_disabled"]
    assert answer["send_refused"] is True
    assert "Secure messages need the client portal, which is turned off." in html.unescape(answer["html"])

    refused = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "template_id": lab,
                                                   "action": "send"})
    assert refused.status_code == 409
    assert "Secure messages need the client portal, which is turned off." in text(refused)
    assert counts(app) == (0, 0, 0)


def test_blocked_decision_is_refused_for_staff(app, staff):
    set_setting(app, "enforce_recommendations", "block")
    cid = contact_id(app)
    form = {"contact_id": cid, "channel": "sms", "template_id": template_id(app, "lab-results"),
            "secure_touched": "1", "override_reason": "I insist"}
    answer = staff.post("/admin/compose/preview", data=form).get_json()
    assert "secure_recommended" in answer["decision"]["blocked_by"]
    assert answer["send_refused"] is True and answer["can_override"] is False
    assert "Refused by policy" in answer["html"]

    page = text(staff.post("/admin/compose/", data={**form, "action": "preview"}))
    assert re.search(r'value="send" class="btn btn-primary" disabled', page)
    assert 'name="override_reason"' not in page

    refused = staff.post("/admin/compose/", data={**form, "action": "send"})
    assert refused.status_code == 409
    assert "blocked by policy" in text(refused) and "Only an admin can override it" in text(refused)
    assert counts(app) == (0, 0, 0)


def test_admin_overrides_a_block_only_with_a_reason_and_it_is_audited(app):
    set_setting(app, "enforce_recommendations", "block")
    admin = sign_in(app, "admin")
    cid = contact_id(app)
    form = {"contact_id": cid, "channel": "sms", "template_id": template_id(app, "lab-results"),
            "secure_touched": "1"}
    answer = admin.post("/admin/compose/preview", data=form).get_json()
    assert answer["can_override"] is True and answer["send_refused"] is False

    no_reason = admin.post("/admin/compose/", data={**form, "action": "send"})
    assert no_reason.status_code == 409
    assert "Give a reason to override the recommendation" in text(no_reason)
    assert counts(app)[0] == 0

    sent = admin.post("/admin/compose/", data={**form, "action": "send",
                                                "override_reason": "Client asked for plain SMS by phone"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/admin/conversations/{cid}"
    with app.app_context():
        message = db.session.execute(db.select(Message)).scalar_one()
        assert (message.mode, message.override_reason) == ("standard", "Client asked for plain SMS by phone")
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="message.policy_override")).scalar_one()
        assert entry.actor == "admin@example.com"
        assert entry.detail["reason"] == "Client asked for plain SMS by phone"


def test_sending_flashes_and_lands_on_the_conversation(app, staff):
    cid = contact_id(app, first_name="Robin", last_name="Hale")
    sent = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "Your results are in",
                                                "secure_initial": "1", "secure": "1", "action": "send"},
                      follow_redirects=True)
    page = text(sent)
    assert sent.request.path == f"/admin/conversations/{cid}"
    assert "Sent securely to Robin Hale." in page
    assert "Your results are in" in page
    assert counts(app)[:2] == (1, 1)

    standard = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "See you at 3pm",
                                                    "secure_touched": "1", "action": "send"}, follow_redirects=True)
    assert "Sent to Robin Hale." in text(standard)


def test_scheduled_and_suppressed_sends_say_so(app, staff):
    cid = contact_id(app)
    later = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    scheduled = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "Reminder",
                                                     "send_at": later.strftime("%Y-%m-%dT%H:%M"), "action": "send"},
                           follow_redirects=True)
    assert f"Scheduled for {later.strftime('%d %b %Y, %H:%M UTC').lstrip('0')}" in text(scheduled)
    with app.app_context():
        marketing_id = situation("marketing").id
    suppressed = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "sms", "body": "Spring sale!",
                                                      "situation_id": marketing_id, "secure_touched": "1",
                                                      "action": "send"}, follow_redirects=True)
    assert "Suppressed: marketing needs the contact&#39;s recorded opt-in" in suppressed.get_data(as_text=True)
    with app.app_context():
        statuses = sorted(db.session.execute(db.select(Message.status)).scalars())
        assert statuses == ["scheduled", "suppressed"]


def test_templates_are_offered_per_channel_and_a_mismatch_is_refused(app, staff):
    cid = contact_id(app)
    page = text(staff.get(f"/admin/compose/?contact_id={cid}"))
    assert re.search(r'<optgroup label="SMS templates" data-channel="sms">.*Lab results.*</optgroup>', page, re.S)
    assert re.search(r'<optgroup label="E-mail templates" data-channel="email">.*Billing statement', page, re.S)
    response = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "email",
                                                    "template_id": template_id(app, "lab-results"), "action": "send"})
    assert response.status_code == 422
    assert "This template is for sms, not email" in text(response)


def test_preview_endpoint_needs_the_csrf_header(csrf_app):
    client = signed_in_client(csrf_app, "staff", "staff@example.com")
    with csrf_app.app_context():
        cid = make_contact().id
    token = csrf_token_from(client.get(f"/admin/compose/?contact_id={cid}").data)
    form = {"contact_id": cid, "channel": "sms", "body": "Hello"}
    assert client.post("/admin/compose/preview", data=form).status_code == 400
    answer = client.post("/admin/compose/preview", data=form, headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.get_json()["client_text"]


def test_compose_without_contacts_says_what_to_do(app, staff):
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Contact)).scalar_one() == 0
    assert "No contacts yet" in text(staff.get("/admin/compose/"))


def test_voice_calls_can_be_composed_with_their_own_alert_and_what_the_call_says(app, staff):
    cid = contact_id(app, first_name="Vera")
    page = text(staff.get(f"/admin/compose/?contact_id={cid}"))
    assert 'id="channel-voice" name="channel" value="voice"' in page

    spoken = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "voice", "body": "See you at ten",
                                                 "secure_initial": "1", "action": "preview"})
    assert spoken.status_code == 200 and sms_alert_shown(text(spoken))
    assert "A voice call is not secure." in text(spoken)

    answer = staff.post("/admin/compose/preview", data={"contact_id": cid, "channel": "voice",
                                                        "body": "Your biopsy was benign"}).get_json()
    assert answer["decision"]["mode"] == "secure" and answer["sms_alert"] is False
    assert answer["client_text"].startswith("Voice call: Hello Vera.")
    assert "Then by SMS:" in answer["client_text"] and "biopsy" not in answer["client_text"]

    sent = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "voice", "body": "Your biopsy was benign",
                                               "action": "send"})
    assert sent.status_code == 302
    with app.app_context():
        message = db.session.execute(db.select(Message).filter_by(contact_id=cid)).scalar_one()
        assert (message.channel, message.mode) == ("voice", "secure")


def test_a_contact_without_a_phone_cannot_get_a_call(app, staff):
    cid = contact_id(app, phone=None, email="nophone@example.com")
    answer = staff.post("/admin/compose/", data={"contact_id": cid, "channel": "voice", "body": "Hello",
                                                 "action": "send"})
    assert answer.status_code == 422 and "The contact has no phone number" in text(answer)
    assert counts(app) == (0, 0, 0)
