"""After `contacts erase ID --yes`, nothing readable of the contact is left anywhere in the raw database.

SQLite: the bytes of the database file and its -wal (after a checkpoint); PostgreSQL: every row of every
table cast to text. The scan first finds the contact (so it can find things), then finds nothing.
"""
from __future__ import annotations

import json

import pytest

from messaging.db import db
from messaging.models import AuditEntry, Delivery, Message
from tests.support.app import TEST_DATABASE_URL
from tests.support.raw_scan import (
    EMAIL,
    FIRST,
    NEEDLES,
    PHONE,
    distinctive_contact,
    found_in,
    raw_database_text,
)


def test_erasure_leaves_nothing_of_the_contact_in_the_raw_database(app, runner):
    with app.app_context():
        scene = distinctive_contact()
        sent = db.session.scalars(db.select(Delivery.status).join(Message).where(
            Message.contact_id == scene.contact_id)).all()
        assert {"sent", "failed", "queued"} <= set(sent)  # the outbox got the notice, the code failed, one waits
        before = found_in(raw_database_text())
    assert {FIRST, PHONE, EMAIL} <= set(before), before  # the scan sees what is stored in the clear

    result = runner.invoke(args=["contacts", "erase", str(scene.contact_id), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Erased contact {scene.contact_id}" in result.output

    with app.app_context():
        assert found_in(raw_database_text()) == []
        entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "contact.erase")).all()
        assert [(e.target_type, e.target_id) for e in entries] == [("contact", str(scene.contact_id))]
        assert found_in(json.dumps(entries[0].detail).lower().encode(), NEEDLES) == []
    verified = runner.invoke(args=["audit", "verify"])  # erasure edits no audit entry: the chain holds
    assert verified.exit_code == 0, verified.output


def test_erase_needs_yes_and_an_existing_contact(app, runner):
    with app.app_context():
        scene = distinctive_contact()
    refused = runner.invoke(args=["contacts", "erase", str(scene.contact_id)])
    assert refused.exit_code != 0 and "--yes" in refused.output
    with app.app_context():
        assert found_in(raw_database_text(), (FIRST,)) == [FIRST]  # nothing was erased
    missing = runner.invoke(args=["contacts", "erase", "987654", "--yes"])
    assert missing.exit_code != 0 and "987654" in missing.output
    again = runner.invoke(args=["contacts", "erase", str(scene.contact_id), "--yes"])
    assert again.exit_code == 0
    twice = runner.invoke(args=["contacts", "erase", str(scene.contact_id), "--yes"])
    assert twice.exit_code == 0 and "erased already" in twice.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).filter_by(action="contact.erase")) == 1


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="the -wal file is SQLite's")
def test_on_sqlite_the_erasure_empties_the_wal_once_it_commits(app, runner):
    with app.app_context():
        scene = distinctive_contact()
        assert FIRST in found_in(raw_database_text(checkpoint=False))
    assert runner.invoke(args=["contacts", "erase", str(scene.contact_id), "--yes"]).exit_code == 0
    with app.app_context():
        assert found_in(raw_database_text(checkpoint=False)) == []
