"""`flask --app wsgi audit verify` catches every way of changing the trail behind the app's back.

Each test writes a chain through ``audit()``, then changes the database directly with raw SQL (as someone
with database access but without SECRET_KEY could) and runs the CLI: intact → exit 0, otherwise exit 1
naming the first broken entry.
"""
from __future__ import annotations

import json

from messaging.audit import SYSTEM, Actor, audit
from messaging.db import db
from messaging.models import AuditEntry, AuditHead
from tests.support.audit_trail import leave_id_gap, raw, remove_gap_placeholders, write_entries


def _verify(runner):
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_an_intact_chain_verifies(app, runner):
    with app.app_context():
        write_entries(5)
    code, output = _verify(runner)
    assert code == 0, output
    assert "Audit chain intact" in output


def test_an_empty_trail_verifies(make_app):
    app = make_app(seed=False)
    code, output = _verify(app.test_cli_runner())
    assert code == 0, output


def test_each_entry_carries_a_mac_and_the_head_follows(app):
    with app.app_context():
        ids = write_entries(3)
        head = db.session.get(AuditHead, 1)
        entries = db.session.execute(db.select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert all(len(e.mac) == 64 for e in entries)
        assert (head.last_id, head.last_mac) == (ids[-1], entries[-1].mac)
        assert head.entry_count == len(entries)


def test_an_edited_entry_is_named(app, runner):
    with app.app_context():
        ids = write_entries(5)
        raw("UPDATE audit_entry SET detail = :d WHERE id = :id", d=json.dumps({"key": "x", "old": 1, "new": 99}),
            id=ids[2])
    code, output = _verify(runner)
    assert code == 1
    assert f"entry #{ids[2]} was edited" in output


def test_an_edited_actor_of_the_newest_entry_is_named(app, runner):
    with app.app_context():
        ids = write_entries(4)
        raw("UPDATE audit_entry SET actor = 'someone-else' WHERE id = :id", id=ids[-1])
    code, output = _verify(runner)
    assert code == 1 and f"entry #{ids[-1]} was edited" in output


def test_a_deleted_entry_is_named(app, runner):
    with app.app_context():
        ids = write_entries(5)
        raw("DELETE FROM audit_entry WHERE id = :id", id=ids[2])
    code, output = _verify(runner)
    assert code == 1
    assert f"entry #{ids[2]} is missing / was deleted (entry #{ids[3]} does not follow its predecessor " \
           f"#{ids[1]})" in output


def test_an_entry_inserted_between_two_is_named(app, runner):
    with app.app_context():
        first = write_entries(3)
        leave_id_gap(5)
        later = write_entries(2, start=10)
        remove_gap_placeholders()
        forged_id = first[-1] + 2
        raw("INSERT INTO audit_entry (id, at, actor, action, target_type, target_id, detail, mac) VALUES "
            "(:id, '2026-01-01 00:00:00', 'admin@example.com', 'settings.change', 'settings', 'x', '{}', :mac)",
            id=forged_id, mac="0" * 64)
        assert first[-1] < forged_id < later[0]
    code, output = _verify(runner)
    assert code == 1
    assert f"entry #{forged_id} was inserted" in output


def test_an_entry_appended_by_sql_is_named(app, runner):
    with app.app_context():
        ids = write_entries(3)
        raw("INSERT INTO audit_entry (id, at, actor, action, detail) VALUES "
            "(:id, '2026-01-01 00:00:00', 'system', 'settings.change', '{}')", id=ids[-1] + 1)
    code, output = _verify(runner)
    assert code == 1 and f"entry #{ids[-1] + 1} was inserted" in output


def test_removing_the_newest_entries_is_caught_by_the_head(app, runner):
    with app.app_context():
        ids = write_entries(5)
        raw("DELETE FROM audit_entry WHERE id >= :id", id=ids[3])
        count = db.session.query(AuditEntry).count()
    code, output = _verify(runner)
    assert code == 1
    assert (f"the newest entries were removed: the head names #{ids[-1]}, count {count + 2}, "
            f"but the table ends at #{ids[2]} with {count}") in output


def test_a_head_rewritten_to_hide_a_truncation_is_caught_as_forged(app, runner):
    with app.app_context():
        ids = write_entries(5)
        survivor = db.session.get(AuditEntry, ids[2])
        count, last_mac = db.session.query(AuditEntry).filter(AuditEntry.id <= ids[2]).count(), survivor.mac
        raw("DELETE FROM audit_entry WHERE id > :id", id=ids[2])
        raw("UPDATE audit_head SET last_id = :id, entry_count = :n, last_mac = :m WHERE id = 1",
            id=ids[2], n=count, m=last_mac)
    code, output = _verify(runner)
    assert code == 1 and "the audit head was forged" in output


def test_a_chain_made_under_another_secret_key_does_not_verify(make_app, tmp_path):
    app = make_app(seed=False)
    with app.app_context():
        write_entries(2)
    app.config["SECRET_KEY"] = "another-secret"
    code, output = _verify(app.test_cli_runner())
    assert code == 1 and "was edited" in output


def test_a_rolled_back_append_leaves_the_chain_intact(app, runner):
    with app.app_context():
        write_entries(2)
        audit(SYSTEM, "settings.change", "settings", "gone")
        db.session.rollback()
        write_entries(2, start=5)
        assert db.session.query(AuditEntry).filter_by(target_id="gone").count() == 0
    code, output = _verify(runner)
    assert code == 0, output


def test_the_address_is_stored_only_as_a_keyed_hash(app):
    with app.app_context():
        from messaging.security.crypto import keyring

        entry = audit(Actor(label="a@example.com", address="203.0.113.9"), "user.login", "user", 1)
        db.session.commit()
        stored = db.session.get(AuditEntry, entry.id)
        assert stored.ip_hash == keyring().keyed_hash("203.0.113.9")
        assert "203.0.113.9" not in json.dumps(stored.detail) and stored.ip_hash != "203.0.113.9"
        assert audit(SYSTEM, "x.y").ip_hash is None


def test_deleting_the_oldest_entries_is_named(app, runner):
    with app.app_context():
        ids = write_entries(5)
        raw("DELETE FROM audit_entry WHERE id <= :id", id=ids[1])
    code, output = _verify(runner)
    assert code == 1
    assert f"is missing / was deleted (entry #{ids[2]} does not follow the start of the chain)" in output
