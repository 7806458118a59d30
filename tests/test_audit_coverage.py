"""Every change the issue names (settings, templates, matrix, users, API keys, consent, segments) and every
read of protected content is an audit entry with the actor, the object, old and new values where they apply
and the actor's address hash; and no entry names a contact by name, phone or e-mail."""
from __future__ import annotations

import json

import pytest

from messaging.audience.segments import create_segment, update_segment
from messaging.audit import Actor
from messaging.audit_chain import verify_chain
from messaging.db import db
from messaging.models import AuditEntry, Situation
from messaging.people.consent import change_consent
from messaging.people.users import change_role, create_api_key, create_user, revoke_api_key
from messaging.policy.situations import update_situation
from messaging.policy.templates import save_template
from messaging.security.crypto import keyring
from messaging.settings import change_setting
from seeds.factories import make_contact, make_template, make_user

ADDRESS = "192.0.2.44"
ADMIN = Actor("admin@example.com", role="admin", address=ADDRESS)


def _settings(_):
    change_setting(ADMIN, "link_ttl_hours", "72")
    return "settings.change", "settings", "link_ttl_hours", {"old": 168, "new": 72}


def _template(_):
    template = make_template("reminder", "appointment_reminder", channel="sms", body="Hi {{ first_name }}.")
    save_template({"channel": "email", "subject": "Hello", "body": "Hi {{ first_name }}."}, ADMIN, template)
    return "template.update", "template", str(template.id), {"old": {"channel": "sms"}, "new": {"channel": "email"}}


def _matrix(_):
    situation = db.session.execute(db.select(Situation).filter_by(key="marketing")).scalar_one()
    was = situation.rationale
    update_situation(ADMIN, situation, {"rationale": "Changed."})
    return "situation.update", "situation", "marketing", {"changes": {"rationale": [was, "Changed."]}}


def _user_role(_):
    user = make_user("nurse@example.com", role="staff")
    change_role(ADMIN, user, "admin")
    return "user.role_change", "user", str(user.id), {"old": "staff", "new": "admin"}


def _user_create(_):
    create_user(ADMIN, "new@example.com", "staff", "a long enough password 1")
    user_id = db.session.execute(db.text("SELECT id FROM \"user\" WHERE email = 'new@example.com'")).scalar_one()
    return "user.create", "user", str(user_id), {"role": "staff"}


def _api_key(_):
    key, _plain = create_api_key(ADMIN, "billing", "staff")
    revoke_api_key(ADMIN, key)
    return "api_key.revoke", "api_key", str(key.id), {"name": "billing"}


def _consent(contact):
    change_consent(ADMIN, contact, "email", "marketing", True, "staff")
    return "contact.consent", "contact", str(contact.id), {"old": False, "new": True, "granted": True}


def _segment(_):
    segment = create_segment(ADMIN, "VIPs", {"match": "all", "conditions": [{"tag": "vip"}]})
    update_segment(ADMIN, segment, name="Gold")
    return "segment.update", "segment", str(segment.id), {"old": {"name": "VIPs"}, "new": {"name": "Gold"}}


CHANGES = [_settings, _template, _matrix, _user_role, _user_create, _api_key, _consent, _segment]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__.strip("_"))
def test_each_change_is_audited_with_old_and_new_values_and_the_address(ctx, change):
    contact = make_contact(first_name="Zelda", last_name="Quux", phone="+14155550199", email="zelda@example.org")
    db.session.commit()
    action, target_type, target_id, expected = change(contact)
    db.session.commit()
    entry = db.session.execute(db.select(AuditEntry).filter_by(action=action).order_by(AuditEntry.id.desc())
                               ).scalars().first()
    assert entry is not None, f"no {action} entry"
    assert (entry.actor, entry.target_type, entry.target_id) == ("admin@example.com", target_type, target_id)
    assert entry.ip_hash == keyring().keyed_hash(ADDRESS)
    for key, value in expected.items():
        if isinstance(value, dict) and isinstance(entry.detail.get(key), dict):
            assert {k: entry.detail[key].get(k) for k in value} == value, (key, entry.detail)
        else:
            assert entry.detail.get(key) == value, (key, entry.detail)
    everything = json.dumps([e.detail for e in db.session.execute(db.select(AuditEntry)).scalars()])
    for field in ("Zelda", "Quux", "+14155550199", "zelda@example.org"):
        assert field not in everything
    assert verify_chain().ok


def _latest(app, action: str) -> AuditEntry:
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action=action).order_by(AuditEntry.id.desc())
                                   ).scalars().first()
        assert entry is not None, f"no {action} entry"
        return entry


def test_reads_of_protected_content_in_the_console_and_the_api_are_audited_with_the_address(app):
    from messaging.audit import SYSTEM
    from messaging.messages import MessageRequest, send_message
    from tests.support.api import caller
    from tests.support.console import signed_in_client

    with app.app_context():
        contact = make_contact(first_name="Robin")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Your result", secure=True),
                               SYSTEM)
        db.session.commit()
        message_id, public_id, contact_id = message.id, message.public_id, contact.id
    staff = signed_in_client(app, "staff", email="reader@example.com")
    api = caller(app, "admin")
    address_hash = None
    with app.app_context():
        address_hash = keyring().keyed_hash("127.0.0.1")
    reads = [(lambda: staff.post(f"/admin/messages/content/?id={message_id}"), "message.content_opened",
              ("reader@example.com", "message", public_id)),
             (lambda: staff.get(f"/admin/conversations/{contact_id}"), "thread.read",
              ("reader@example.com", "contact", str(contact_id))),
             (lambda: api.get(f"/contacts/{contact_id}/thread"), "thread.read",
              (None, "contact", str(contact_id))),
             (lambda: api.post(f"/contacts/{contact_id}/consent", json={"channel": "email", "purpose": "marketing",
                                                                        "granted": True}), "contact.consent",
              (None, "contact", str(contact_id)))]
    for request, action, (actor, target_type, target_id) in reads:
        assert request().status_code in (200, 201)
        entry = _latest(app, action)
        assert (entry.target_type, entry.target_id) == (target_type, target_id)
        assert entry.actor == actor if actor else entry.actor.startswith("api-key:")
        assert entry.ip_hash == address_hash, action
    with app.app_context():
        assert verify_chain().ok


def test_a_retried_delivery_is_audited_without_the_contact_address_the_provider_quoted(ctx):
    from messaging.audit import SYSTEM
    from messaging.delivery.outcomes import retry_now
    from messaging.messages import MessageRequest, send_message

    contact = make_contact(phone="+14155550123", email="quoted@example.org")
    message = send_message(MessageRequest(contact=contact, channel="sms", body="hello", secure=False), SYSTEM)
    db.session.flush()
    delivery = message.deliveries[0]
    delivery.status = "failed"
    delivery.last_error = ("Twilio error 21211: The 'To' number +14155550123 is not a valid phone number "
                           "(quoted@example.org)")
    message.status = "failed"
    db.session.commit()
    retry_now(delivery, ADMIN)
    db.session.commit()
    entry = db.session.execute(db.select(AuditEntry).filter_by(action="delivery.retry")).scalar_one()
    assert entry.detail["previous_error"] == \
        "Twilio error 21211: The 'To' number [number] is not a valid phone number ([e-mail])"


def test_changes_made_in_the_console_carry_the_admin_and_the_address(app):
    from messaging.settings import settings_as_dict
    from tests.support.console import signed_in_client

    admin = signed_in_client(app, "admin", email="boss@example.com")
    with app.app_context():
        form = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in settings_as_dict().items()}
        address_hash = keyring().keyed_hash("127.0.0.1")
    changes = [(lambda: admin.post("/admin/settings/", data={**form, "link_ttl_hours": "48"}), "settings.change",
                {"key": "link_ttl_hours", "old": 168, "new": 48}),
               (lambda: admin.post("/admin/users/new/", data={"email": "new@example.com", "role": "staff",
                                                              "password": "a long enough password 1",
                                                              "password_repeat": "a long enough password 1"}),
                "user.create", {"email": "new@example.com", "role": "staff"})]
    for change, action, expected in changes:
        assert change().status_code == 302
        entry = _latest(app, action)
        assert entry.actor == "boss@example.com" and entry.ip_hash == address_hash
        assert {k: entry.detail.get(k) for k in expected} == expected
