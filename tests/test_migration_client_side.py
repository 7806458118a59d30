"""Upgrading to the client-side tables keeps every message and setting, and a conversation whose
latest message is the client's starts unread for staff (the meaning ``staff_unread_at`` gives it);
one that staff already answered does not."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import text

from messaging.db import db
from messaging.models import Message, Settings

BEFORE_CLIENT_SIDE = "b63706c7c2ed"
AT = datetime(2026, 6, 1, 9, 0)
NEW_SETTINGS = {"viewer_session_minutes", "link_ttl_min_hours", "link_ttl_max_hours", "attachment_max_mb",
                "client_attachments", "notice_text_en", "notice_text_es", "logo", "logo_media_type"}


def _old(name, *columns):
    return sa.table(name, *(sa.column(c) for c in columns))


def _message(conn, message_id: int, contact_id: int, direction: str, at: datetime) -> None:
    conn.execute(sa.insert(_old("message", "id", "public_id", "contact_id", "direction", "channel", "mode",
                                "require_pin", "warnings", "status", "created_at", "token_version",
                                "pin_failures", "pin_lock_count", "notices_sent")),
                 {"id": message_id, "public_id": f"old-{message_id}", "contact_id": contact_id,
                  "direction": direction, "channel": "sms" if direction == "out" else "web", "mode": "secure",
                  "require_pin": False, "warnings": "[]", "status": "sent" if direction == "out" else "received",
                  "created_at": at, "token_version": 1, "pin_failures": 0, "pin_lock_count": 0, "notices_sent": 0})


def test_upgrade_keeps_messages_and_marks_unanswered_replies_unread(make_app):
    app = make_app(seed=False)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision=BEFORE_CLIENT_SIDE)
        with db.engine.begin() as conn:
            # Only the columns this revision's table has: later revisions add more settings.
            in_old_table = {c["name"] for c in sa.inspect(conn).get_columns("settings")}
            old_settings = {c.name: c.default.arg for c in Settings.__table__.columns
                            if c.name in in_old_table and c.default is not None}
            assert not in_old_table & NEW_SETTINGS
            old_settings.update(id=1, org_name="Old clinic", link_ttl_hours=48)
            conn.execute(sa.insert(_old("settings", *old_settings)), old_settings)
            for contact_id in (7, 8):
                conn.execute(sa.insert(_old("contact", "id", "first_name", "last_name", "tags", "form_data",
                                            "language", "created_at", "updated_at", "pin_failures",
                                            "pin_lock_count")),
                             {"id": contact_id, "first_name": "Ada", "last_name": f"Old{contact_id}", "tags": "[]",
                              "form_data": "{}", "language": "es", "created_at": AT, "updated_at": AT,
                              "pin_failures": 0, "pin_lock_count": 0})
            _message(conn, 1, 7, "out", AT)
            _message(conn, 2, 7, "in", AT + timedelta(hours=1))  # the client had the last word
            _message(conn, 3, 8, "in", AT)
            _message(conn, 4, 8, "out", AT + timedelta(hours=1))  # staff answered
        upgrade()
        messages = {m.id: m for m in db.session.execute(db.select(Message)).scalars()}
        assert [messages[i].public_id for i in (1, 2, 3, 4)] == ["old-1", "old-2", "old-3", "old-4"]
        assert {i: messages[i].staff_unread_at for i in messages} == {
            1: None, 2: AT + timedelta(hours=1), 3: None, 4: None}
        assert not any(m.expire_after_view or m.link_requested_at for m in messages.values())
        settings = db.session.get(Settings, 1)
        assert (settings.org_name, settings.link_ttl_hours) == ("Old clinic", 48)
        assert (settings.viewer_session_minutes, settings.link_ttl_min_hours, settings.link_ttl_max_hours,
                settings.attachment_max_mb, settings.client_attachments, settings.notice_text_en,
                settings.notice_text_es, settings.logo) == (15, 1, 2160, 10, False, "", "", None)
