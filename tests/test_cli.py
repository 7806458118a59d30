"""The CLI contract of docs/contracts.md, through Flask's CLI runner."""
import json

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.messages import MessageRequest, send_message
from messaging.models import ApiKey, AuditEntry, Situation, Template, User
from seeds.factories import make_contact


def test_seed_is_idempotent_and_demo_adds_contacts(app, runner):
    first = runner.invoke(args=["seed", "--demo"])
    second = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == second.exit_code == 0
    assert "3 contacts" in first.output and "0 situations, 0 templates, 0 contacts" in second.output
    with app.app_context():
        keys = [s.key for s in db.session.execute(db.select(Situation).order_by(Situation.position)).scalars()]
        assert keys == ["healthcare", "legal", "financial", "sensitive_appointment", "confidential_conversation",
                        "appointment_reminder", "booking_confirmation", "marketing"]
        assert db.session.query(Template).count() == 4


def test_users_create_with_password_from_stdin_and_generated(app, runner):
    result = runner.invoke(args=["users", "create", "Boss@Example.com", "--role", "admin", "--password-stdin"],
                           input="a very long password\n")
    assert result.exit_code == 0, result.output
    generated = runner.invoke(args=["users", "create", "staff@example.com", "--role", "staff"])
    assert "Password (shown once):" in generated.output
    duplicate = runner.invoke(args=["users", "create", "boss@example.com", "--role", "staff"])
    assert duplicate.exit_code != 0 and "exists already" in duplicate.output
    short = runner.invoke(args=["users", "create", "x@example.com", "--role", "staff", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "at least 12" in short.output
    with app.app_context():
        boss = db.session.execute(db.select(User).filter_by(email="boss@example.com")).scalar_one()
        assert boss.role == "admin" and boss.password_hash.startswith("$argon2")


def test_ensure_admin_creates_the_first_admin_only_once(app, runner):
    first = runner.invoke(args=["users", "ensure-admin"])
    assert "password:" in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert "password:" not in second.output
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_api_key_is_printed_once_and_stored_hashed(app, runner):
    result = runner.invoke(args=["api-keys", "create", "billing-system", "--role", "admin"])
    plain = result.output.strip()
    assert result.exit_code == 0 and plain.startswith("sk_")
    with app.app_context():
        key = db.session.execute(db.select(ApiKey)).scalar_one()
        assert key.role == "admin" and plain not in key.key_hash and key.prefix == plain[:10]


def test_settings_show_and_set_validate_and_audit(app, runner):
    shown = runner.invoke(args=["settings", "show", "--json"])
    assert json.loads(shown.output)["link_ttl_hours"] == 168
    ok = runner.invoke(args=["settings", "set", "max_pin_attempts", "3"])
    assert ok.exit_code == 0 and "5 → 3" in ok.output
    unknown = runner.invoke(args=["settings", "set", "colour", "red"])
    assert unknown.exit_code != 0 and "unknown setting 'colour'" in unknown.output
    bad = runner.invoke(args=["settings", "set", "link_ttl_hours", "0"])
    assert bad.exit_code != 0 and "from 1 to 2160" in bad.output
    bad_zone = runner.invoke(args=["settings", "set", "timezone", "Mars/Olympus"])
    assert bad_zone.exit_code != 0 and "time zone" in bad_zone.output
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")).scalar_one()
        assert entry.detail == {"key": "max_pin_attempts", "old": 5, "new": 3}


def test_deliver_runs_one_pass_and_outbox_prints_json_lines(app, runner):
    with app.app_context():
        contact = make_contact(first_name="Ola")
        send_message(MessageRequest(contact=contact, channel="sms", body="See you at 3pm", secure=False), SYSTEM)
        other = make_contact()
        send_message(MessageRequest(contact=other, channel="email", body="Hello", secure=False), SYSTEM)
        db.session.commit()
        phone = contact.phone
    delivered = runner.invoke(args=["deliver"])
    assert delivered.exit_code == 0 and "sent 2" in delivered.output
    lines = runner.invoke(args=["outbox", "--json", "--to", phone]).output.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert {"to", "channel", "subject", "body", "message_id", "created_at"} <= set(row)
    assert row["to"] == phone and row["body"] == "See you at 3pm" and row["channel"] == "sms"
    with app.app_context():
        assert dispatch_once().claimed == 0  # nothing is sent twice


def test_portal_cannot_be_turned_off_while_secure_is_the_default(app, runner):
    refused = runner.invoke(args=["settings", "set", "portal_enabled", "false"])
    assert refused.exit_code != 0 and "default_mode is secure" in refused.output
    assert runner.invoke(args=["settings", "set", "default_mode", "standard"]).exit_code == 0
    assert runner.invoke(args=["settings", "set", "portal_enabled", "false"]).exit_code == 0
    back = runner.invoke(args=["settings", "set", "default_mode", "secure"])
    assert back.exit_code != 0 and "portal_enabled cannot be false" in back.output


def test_settings_set_frequency_cap_refuses_an_unknown_window(app, runner):
    result = runner.invoke(args=["settings", "set", "frequency_cap", "5/month"])
    assert result.exit_code != 0 and "frequency_cap must look like 1/day,3/week" in result.output
    assert runner.invoke(args=["settings", "set", "frequency_cap", "2/week"]).exit_code == 0
