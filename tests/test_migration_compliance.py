"""Upgrading to the compliance revision chains the audit entries already written, oldest first: after the
upgrade `audit verify` passes, new entries chain on from the migrated head, and a change to a migrated entry
is caught."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import text

from messaging.audit import SYSTEM, audit
from messaging.audit_chain import verify_chain
from messaging.db import db
from messaging.models import AuditEntry, AuditHead

BEFORE_COMPLIANCE = "9791f56ce134"
AT = datetime(2026, 6, 1, 9, 0, 0, 123456)
OLD = sa.table("audit_entry", *(sa.column(c) for c in ("id", "at", "actor", "action", "target_type", "target_id",
                                                        "detail")))


def _old_schema(app):
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision=BEFORE_COMPLIANCE)


def test_upgrade_chains_the_existing_entries_and_new_ones_follow(make_app):
    app = make_app(seed=False)
    with app.app_context():
        _old_schema(app)
        with db.engine.begin() as conn:
            for n in range(1, 1206):  # more than one batch of the migration's walk
                conn.execute(sa.insert(OLD), {"id": n, "at": AT + timedelta(minutes=n), "actor": "admin@example.com",
                                              "action": "settings.change", "target_type": "settings",
                                              "target_id": "link_ttl_hours",
                                              "detail": json.dumps({"key": "link_ttl_hours", "old": n, "new": n + 1,
                                                                    "note": "é"})})
            if conn.dialect.name == "postgresql":  # rows written with their ids: move the sequence past them
                conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), 1205)"))
        upgrade()
        head = db.session.get(AuditHead, 1)
        assert (head.last_id, head.entry_count) == (1205, 1205)
        report = verify_chain()
        assert report.ok and report.checked == 1205, report.problem
        audit(SYSTEM, "settings.change", "settings", "org_name", key="org_name", old="a", new="b")
        db.session.commit()
        report = verify_chain()
        assert report.ok and report.checked == 1206, report.problem
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_entry SET actor = 'nobody' WHERE id = 7"))
        db.session.expire_all()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "entry #7 was edited" in result.output


def test_upgrade_of_an_empty_trail_leaves_a_head_to_chain_on(make_app):
    app = make_app(seed=False)
    with app.app_context():
        _old_schema(app)
        upgrade()
        assert verify_chain().ok
        audit(SYSTEM, "user.login", "user", 1)
        db.session.commit()
        report = verify_chain()
        assert report.ok and report.checked == 1 and db.session.query(AuditEntry).count() == 1
