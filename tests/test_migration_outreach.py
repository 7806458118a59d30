"""Upgrading to the outreach tables keeps every message, delivery and setting as it was: old
messages name no broadcast or campaign step (so the new unique keys never bite), and the frequency
cap starts empty (no cap), which is what every organisation had."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import text

from messaging.db import db
from messaging.models import Delivery, Message, Settings

BEFORE_OUTREACH = "5e1a7c3d2b90"
AT = datetime(2026, 6, 1, 9, 0)
# The settings columns before the outreach revision (later revisions add more).
OLD_SETTINGS = {"id", "org_name", "brand_color", "default_mode", "require_pin", "pin_method", "link_ttl_hours",
                "max_pin_attempts", "lockout_minutes", "portal_enabled", "replies_allowed", "enforce_recommendations",
                "renotify_hours", "quiet_hours", "timezone", "retention_days", "session_idle_minutes",
                "sensitive_terms", "help_text"}


def _old(name, *columns):
    return sa.table(name, *(sa.column(c) for c in columns))


def test_upgrade_keeps_messages_deliveries_and_settings(make_app):
    app = make_app(seed=False)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision=BEFORE_OUTREACH)
        with db.engine.begin() as conn:
            old_settings = {c.name: c.default.arg for c in Settings.__table__.columns
                            if c.name in OLD_SETTINGS and c.default is not None}
            old_settings.update(id=1, org_name="Old clinic", quiet_hours="21:00-08:00", timezone="Europe/London")
            conn.execute(sa.insert(_old("settings", *old_settings)), old_settings)
            conn.execute(sa.insert(_old("contact", "id", "first_name", "last_name", "tags", "form_data", "language",
                                        "created_at", "updated_at", "pin_failures", "pin_lock_count")),
                         {"id": 7, "first_name": "Ada", "last_name": "Old", "tags": "[]", "form_data": "{}",
                          "language": "en", "created_at": AT, "updated_at": AT, "pin_failures": 0,
                          "pin_lock_count": 0})
            for message_id in (1, 2):  # two one-offs to the same contact: the new unique keys leave them be
                conn.execute(sa.insert(_old("message", "id", "public_id", "contact_id", "direction", "channel", "mode",
                                            "require_pin", "warnings", "status", "created_at", "token_version",
                                            "pin_failures", "pin_lock_count", "notices_sent")),
                             {"id": message_id, "public_id": f"old-{message_id}", "contact_id": 7, "direction": "out",
                              "channel": "sms", "mode": "standard", "require_pin": False, "warnings": "[]",
                              "status": "sent", "created_at": AT, "token_version": 1, "pin_failures": 0,
                              "pin_lock_count": 0, "notices_sent": 0})
                conn.execute(sa.insert(_old("delivery", "id", "message_id", "kind", "channel", "to_address", "status",
                                            "attempts", "next_attempt_at", "idempotency_key", "created_at")),
                             {"id": message_id, "message_id": message_id, "kind": "content", "channel": "sms",
                              "to_address": "+15005550100", "status": "sent", "attempts": 1, "next_attempt_at": AT,
                              "idempotency_key": f"key-{message_id}", "created_at": AT})
        upgrade()
        messages = db.session.execute(db.select(Message).order_by(Message.id)).scalars().all()
        assert [(m.public_id, m.status, m.broadcast_id, m.campaign_step_id) for m in messages] == [
            ("old-1", "sent", None, None), ("old-2", "sent", None, None)]
        assert [d.message_id for d in db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars()] == [1, 2]
        settings = db.session.get(Settings, 1)
        assert (settings.org_name, settings.quiet_hours, settings.frequency_cap) == ("Old clinic", "21:00-08:00", "")
