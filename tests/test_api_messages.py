"""Messages over the API: send, preview, status and events, revoke, and the policy answers."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from messaging.client.access import resolve_link
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.messages import get_message, link_for
from messaging.models import AuditEntry, Contact, Delivery, Message, MessageEvent
from messaging.policy.optout import mark_opted_out
from messaging.settings import get_settings
from seeds.factories import make_contact
from tests.support.api import assert_error, caller
from tests.support.records import audit_entries_in

BODY = "Your HbA1c result is 6.1"


@pytest.fixture
def contact_id(app):
    with app.app_context():
        return make_contact(first_name="Ann", pin="2468").id


def set_settings(app, **values):
    with app.app_context():
        settings = get_settings()
        for key, value in values.items():
            setattr(settings, key, value)
        db.session.commit()


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.query(model).count() for model in (Message, Delivery, MessageEvent, AuditEntry))


def test_sending_answers_201_with_the_decision_and_delivery_shows_sent(app, contact_id):
    api = caller(app)
    response = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": BODY})
    assert response.status_code == 201, response.json
    sent = response.json
    assert sent["mode"] == "secure" and sent["require_pin"] is True  # the seeded global default
    assert sent["decided_by"] == "global" and sent["reason"] == "secure — set by the global default"
    assert sent["status"] == "queued" and sent["warnings"] == [] and sent["suppressed_reason"] is None
    assert sent["recommendation"] is None
    assert BODY not in response.get_data(as_text=True)

    with app.app_context():
        assert dispatch_once().sent == 1
    status = api.get(f"/messages/{sent['id']}")
    assert status.status_code == 200
    message = status.json
    assert message["status"] == "sent"
    assert [e["kind"] for e in message["events"]] == ["queued", "sent"]
    assert all(e["at"].endswith("Z") for e in message["events"])
    for field in ("id", "contact_id", "channel", "mode", "require_pin", "decided_by", "created_at", "expires_at",
                  "viewed_at"):
        assert field in message
    assert message["contact_id"] == contact_id and message["viewed_at"] is None
    assert message["created_at"].endswith("Z") and message["expires_at"].endswith("Z")
    assert BODY not in status.get_data(as_text=True)
    [entry] = audit_entries_in(app, "message.create")
    assert entry.target_id == sent["id"] and entry.api_key_id is not None


def test_one_off_fields_decide_over_the_template_and_the_default(app, contact_id):
    api = caller(app)
    base = {"contact_id": contact_id, "channel": "sms", "template": "lab-results"}
    from_template = api.post("/messages", json=base).json
    assert (from_template["mode"], from_template["decided_by"]) == ("secure", "template")
    assert from_template["reason"] == "secure — set by template 'Lab results'"
    assert from_template["template"] == "lab-results" and from_template["situation"] == "healthcare"

    for value, mode, decided_by in ((False, "standard", "one_off"), ("false", "standard", "one_off"),
                                    ("inherit", "secure", "template"), (None, "secure", "template"),
                                    ("true", "secure", "one_off")):
        answer = api.post("/messages", json={**base, "secure": value}).json
        assert (answer["mode"], answer["decided_by"]) == (mode, decided_by), value
    no_pin = api.post("/messages", json={**base, "require_pin": "false"}).json
    assert no_pin["require_pin"] is False and no_pin["mode"] == "secure"


def test_standard_against_a_secure_recommendation_warns(app, contact_id):
    answer = caller(app).post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": BODY,
                                                 "situation": "healthcare", "secure": False}).json
    assert answer["mode"] == "standard" and answer["status"] == "queued"
    assert [w["code"] for w in answer["warnings"]] == ["secure_recommended"]
    assert answer["recommendation"] == "secure"


def test_send_at_with_a_zone_is_stored_in_utc_and_scheduled(app, contact_id):
    api = caller(app)
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    local = (later + timedelta(hours=2)).isoformat() + "+02:00"
    answer = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi",
                                         "send_at": local}).json
    assert answer["status"] == "scheduled"
    assert answer["send_at"] == later.isoformat() + "Z"
    naive = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi",
                                        "send_at": later.isoformat()}).json
    assert naive["send_at"] == later.isoformat() + "Z"
    with app.app_context():
        stored = get_message(answer["id"])
        assert stored.send_at == later and stored.send_at.tzinfo is None
        assert stored.deliveries[0].next_attempt_at == later
        assert dispatch_once().sent == 0


def test_each_invalid_message_field_is_named_in_the_422(app, contact_id):
    api = caller(app)
    response = api.post("/messages", json={"contact_id": "abc", "channel": "fax", "secure": "maybe",
                                           "require_pin": 2, "send_at": "next tuesday", "bodyy": "typo"})
    assert_error(response, 422, "invalid", ("contact_id", "channel", "secure", "require_pin", "send_at", "bodyy"))
    assert_error(api.post("/messages", json={"channel": "sms", "body": "Hi"}), 422, "invalid", ("contact_id",))
    for impossible in (0, -1, 2**63):
        assert_error(api.post("/messages", json={"contact_id": impossible, "channel": "sms", "body": "Hi"}),
                     422, "invalid", ("contact_id",))
    response = api.post("/messages", json={"contact_id": 999999, "channel": "sms", "template": "no-such",
                                           "situation": "astrology"})
    assert_error(response, 422, "invalid", ("contact_id", "template", "situation"))
    response = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "  "})
    assert_error(response, 422, "invalid", ("body",))
    response = api.post("/messages", json={"contact_id": contact_id, "channel": "email", "template": "lab-results"})
    assert_error(response, 422, "invalid", ("template",))
    assert counts(app)[0] == 0


def test_an_unknown_message_is_a_404(app):
    api = caller(app)
    assert_error(api.get("/messages/nope"), 404, "not_found")
    assert_error(api.post("/messages/nope/revoke"), 404, "not_found")


def test_secure_while_the_portal_is_off_is_a_409(app, contact_id):
    # With the portal off the default must be standard; secure can still be asked for explicitly.
    set_settings(app, portal_enabled=False, default_mode="standard")
    api = caller(app)
    error = assert_error(api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": BODY,
                                                     "secure": True}), 409, "portal_disabled")
    assert "portal" in error["message"]
    assert_error(api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "template": "lab-results"}),
                 409, "portal_disabled")
    standard = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi",
                                           "secure": False})
    assert standard.status_code == 201 and standard.json["mode"] == "standard"
    assert counts(app)[0] == 1


def test_under_block_a_staff_key_is_refused_and_an_admin_key_overrides_with_a_reason(app, contact_id):
    set_settings(app, enforce_recommendations="block")
    body = {"contact_id": contact_id, "channel": "sms", "body": BODY, "situation": "healthcare", "secure": False}
    staff, admin = caller(app, "staff"), caller(app, "admin")
    assert_error(staff.post("/messages", json=body), 409, "blocked_by_policy")
    assert_error(staff.post("/messages", json={**body, "override_reason": "I insist"}), 409, "blocked_by_policy")
    assert_error(admin.post("/messages", json=body), 409, "blocked_by_policy", ("override_reason",))
    assert counts(app)[0] == 0

    response = admin.post("/messages", json={**body, "override_reason": "Client asked for plain SMS in writing"})
    assert response.status_code == 201, response.json
    assert response.json["mode"] == "standard"
    [override] = audit_entries_in(app, "message.policy_override")
    assert override.detail["reason"] == "Client asked for plain SMS in writing"
    assert override.target_id == response.json["id"] and override.api_key_id is not None


def test_marketing_without_opt_in_is_suppressed_and_the_api_says_why(app):
    with app.app_context():
        without = make_contact(marketing_consent=False).id
        with_consent = make_contact(marketing_consent=True).id
    api = caller(app)
    body = {"channel": "sms", "body": "Spring offer", "situation": "marketing", "secure": False}
    suppressed = api.post("/messages", json={**body, "contact_id": without})
    assert suppressed.status_code == 201
    assert suppressed.json["status"] == "suppressed"
    assert "opt-in" in suppressed.json["suppressed_reason"]
    sent = api.post("/messages", json={**body, "contact_id": with_consent}).json
    assert sent["status"] == "queued" and sent["suppressed_reason"] is None
    with app.app_context():
        assert dispatch_once().sent == 1  # only the consenting contact
    assert api.get(f"/messages/{suppressed.json['id']}").json["status"] == "suppressed"


def test_an_opted_out_contact_is_suppressed(app, contact_id):
    with app.app_context():
        mark_opted_out(db.session.get(Contact, contact_id), source="keyword")
        db.session.commit()
    answer = caller(app).post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi"}).json
    assert answer["status"] == "suppressed" and "opted out" in answer["suppressed_reason"]


def test_preview_answers_the_decision_and_client_text_and_stores_nothing(app, contact_id):
    api = caller(app)
    before = counts(app)
    secure = api.post("/messages/preview", json={"contact_id": contact_id, "channel": "sms", "body": BODY})
    assert secure.status_code == 200
    preview = secure.json
    assert preview["mode"] == "secure" and preview["decided_by"] == "global" and preview["blocked"] is False
    assert preview["reason"] == "secure — set by the global default"
    assert "secure message" in preview["client_text"] and "/m/" in preview["client_text"]
    assert BODY not in preview["client_text"]
    assert preview["suppressed_reason"] is None

    standard = api.post("/messages/preview", json={"contact_id": contact_id, "channel": "email",
                                                   "subject": "Hello {{ first_name }}", "body": BODY,
                                                   "secure": "false", "situation": "healthcare"}).json
    # What the caller writes is sent as written: only a template's own text is rendered.
    assert standard["client_text"] == BODY and standard["subject"] == "Hello {{ first_name }}"
    assert [w["code"] for w in standard["warnings"]] == ["secure_recommended"]
    assert standard["recommendation"] == "secure"
    assert counts(app) == before


def test_preview_tells_what_policy_would_refuse(app, contact_id):
    set_settings(app, enforce_recommendations="block")
    api = caller(app)
    blocked = api.post("/messages/preview", json={"contact_id": contact_id, "channel": "sms", "body": BODY,
                                                  "situation": "healthcare", "secure": False}).json
    assert blocked["blocked"] is True and blocked["blocked_by"] == ["secure_recommended"]
    set_settings(app, portal_enabled=False, default_mode="standard", enforce_recommendations="warn")
    off = api.post("/messages/preview", json={"contact_id": contact_id, "channel": "sms", "body": BODY,
                                              "secure": "true"}).json
    assert off["blocked"] is True and off["blocked_by"] == ["portal_disabled"]
    with app.app_context():
        marketing = make_contact(marketing_consent=False).id
    suppressed = api.post("/messages/preview", json={"contact_id": marketing, "channel": "sms", "body": "Offer",
                                                     "situation": "marketing", "secure": False}).json
    assert "opt-in" in suppressed["suppressed_reason"]
    assert counts(app)[0] == 0


def test_preview_refuses_invalid_input_like_sending(app, contact_id):
    api = caller(app)
    assert_error(api.post("/messages/preview", json={"contact_id": contact_id, "channel": "email", "body": "Hi",
                                                     "subject": "x" * 301}), 422, "invalid", ("subject",))
    assert_error(api.post("/messages/preview", json={"contact_id": contact_id, "channel": "email",
                                                     "template": "lab-results"}), 422, "invalid", ("template",))
    assert_error(api.post("/messages/preview", json={"contact_id": contact_id}), 422, "invalid", ("channel",))


def test_revoking_stops_the_link_at_once(app, contact_id):
    api = caller(app)
    sent = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": BODY}).json
    with app.app_context():
        dispatch_once()
        token = link_for(get_message(sent["id"])).rsplit("/m/", 1)[1]
        assert resolve_link(token) is not None
    viewer_built = any(rule.rule == "/m/<token>" for rule in app.url_map.iter_rules())
    if viewer_built:
        assert api.client.get(f"/m/{token}").status_code == 200

    response = api.post(f"/messages/{sent['id']}/revoke")
    assert response.status_code == 200
    assert response.json["status"] == "revoked" and response.json["revoked_at"].endswith("Z")
    assert response.json["events"][-1]["kind"] == "revoked"
    with app.app_context():
        assert resolve_link(token) is None
    if viewer_built:  # the signature is ours, so the page may say the message was withdrawn
        page = api.client.get(f"/m/{token}")
        assert page.status_code == 410 and 'data-state="revoked"' in page.get_data(as_text=True)
    [entry] = audit_entries_in(app, "message.revoke")
    assert entry.target_id == sent["id"]
    # Revoking twice is harmless and answers the same.
    assert api.post(f"/messages/{sent['id']}/revoke").json["status"] == "revoked"
    assert len(audit_entries_in(app, "message.revoke")) == 1


def test_revoking_before_delivery_cancels_the_notice(app, contact_id):
    api = caller(app)
    sent = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": BODY}).json
    api.post(f"/messages/{sent['id']}/revoke")
    with app.app_context():
        assert dispatch_once().sent == 0
    assert api.get(f"/messages/{sent['id']}").json["status"] == "revoked"


def test_times_are_utc_with_z(app, contact_id):
    answer = caller(app).post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi"}).json
    created = datetime.fromisoformat(answer["created_at"].replace("Z", "+00:00"))
    assert abs((created.replace(tzinfo=None) - utcnow()).total_seconds()) < 60


def test_a_secure_voice_message_says_one_is_waiting_and_the_link_goes_by_sms(app, contact_id):
    api = caller(app)
    preview = api.post("/messages/preview", json={"contact_id": contact_id, "channel": "voice", "body": BODY})
    assert preview.status_code == 200, preview.json
    assert preview.json["client_text"].startswith("Voice call: Hello Ann.") and BODY not in preview.json["client_text"]

    sent = api.post("/messages", json={"contact_id": contact_id, "channel": "voice", "body": BODY})
    assert sent.status_code == 201 and sent.json["mode"] == "secure"
    with app.app_context():
        dispatch_once()
        kinds = sorted((d.kind, d.channel) for d in db.session.execute(db.select(Delivery)).scalars())
    assert kinds == [("link", "sms"), ("notice", "voice")]
    assert api.get(f"/messages/{sent.json['id']}").json["channel"] == "voice"

