"""Upgrading to the client-chosen PINs revision keeps every PIN and says who set it: existing PINs were
set by staff, dated by their last audited setting (else the contact's creation); contacts who already
verified or read a secure message do not see the first-time explanation again."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import text

from messaging.db import db
from messaging.models import Contact, Settings
from messaging.security.pins import check_pin, hash_pin

BEFORE = "b66a9ef92b71"
CREATED = datetime(2025, 1, 10, 8, 0)
PIN_SET = datetime(2025, 2, 20, 16, 45)
VERIFIED = datetime(2025, 3, 1, 12, 0)


def _table(conn, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _contact(conn, contact_id: int, pin_hash: str | None) -> None:
    conn.execute(sa.insert(_table(conn, "contact")), {
        "id": contact_id, "first_name": f"Old{contact_id}", "last_name": "", "tags": [], "form_data": {},
        "created_at": CREATED, "updated_at": CREATED, "pin_hash": pin_hash})


def test_upgrade_marks_existing_pins_as_staff_set_and_keeps_them(make_app):
    app = make_app(seed=False)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision=BEFORE)
        pin_hash = hash_pin("2468")
        with db.engine.begin() as conn:
            _contact(conn, 1, pin_hash)  # a PIN with an audited setting
            _contact(conn, 2, pin_hash)  # a PIN set at creation: no pin_set entry
            _contact(conn, 3, None)      # no PIN, but has read a secure message
            _contact(conn, 4, None)      # never seen a secure page
            conn.execute(sa.insert(_table(conn, "audit_entry")), [
                {"id": 1, "at": datetime(2025, 1, 15), "actor": "a@example.com", "action": "contact.pin_set",
                 "target_type": "contact", "target_id": "1", "detail": json.dumps({})},
                {"id": 2, "at": PIN_SET, "actor": "a@example.com", "action": "contact.pin_set",
                 "target_type": "contact", "target_id": "1", "detail": json.dumps({})},
                {"id": 3, "at": datetime(2025, 4, 1), "actor": "a@example.com", "action": "contact.update",
                 "target_type": "contact", "target_id": "2", "detail": json.dumps({})},
            ])
            conn.execute(sa.insert(_table(conn, "settings")), {
                "id": 1, "org_name": "Old clinic", "brand_color": "#1f5f8b", "default_mode": "secure",
                "require_pin": True, "pin_method": "contact_pin", "link_ttl_hours": 168, "max_pin_attempts": 5,
                "lockout_minutes": 15, "portal_enabled": True, "replies_allowed": True,
                "enforce_recommendations": "warn", "renotify_hours": "24", "quiet_hours": "", "timezone": "UTC",
                "retention_days": 0, "session_idle_minutes": 30, "sensitive_terms": "", "help_text": ""})
            conn.execute(sa.insert(_table(conn, "message")), {
                "id": 1, "public_id": "m" * 22, "contact_id": 3, "direction": "out", "channel": "sms",
                "mode": "secure", "require_pin": True, "warnings": [], "status": "sent", "created_at": CREATED,
                "token_version": 1, "pin_failures": 0, "notices_sent": 1})
            conn.execute(sa.insert(_table(conn, "message_event")), [
                {"message_id": 1, "kind": "link_opened", "at": datetime(2025, 2, 1), "detail": {}},
                {"message_id": 1, "kind": "verified", "at": VERIFIED, "detail": {}},
                {"message_id": 1, "kind": "viewed", "at": datetime(2025, 3, 2), "detail": {}},
            ])
        upgrade()
        db.session.expire_all()
        by_id = {c.id: c for c in db.session.execute(db.select(Contact)).scalars()}
        assert (by_id[1].pin_set_by, by_id[1].pin_set_at) == ("staff", PIN_SET)
        assert (by_id[2].pin_set_by, by_id[2].pin_set_at) == ("staff", CREATED)
        assert (by_id[3].pin_set_by, by_id[3].pin_set_at) == (None, None)
        assert check_pin(by_id[1].pin_hash, "2468") and check_pin(by_id[2].pin_hash, "2468")
        assert by_id[3].secure_intro_seen_at == VERIFIED
        assert by_id[4].secure_intro_seen_at is None and by_id[1].secure_intro_seen_at is None
        settings = db.session.get(Settings, 1)  # written before the upgrade: it gets the defaults
        assert (settings.org_name, settings.client_sets_pin, settings.office_contact) == ("Old clinic", True, "")
