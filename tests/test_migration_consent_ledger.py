"""Upgrading to the consent ledger keeps every consent value the old flags held, and indexes old tags."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from messaging.db import db
from messaging.models import ConsentEntry, Contact, ContactField, ContactTag
from messaging.people.consent import consent_map, opted_out_at

BEFORE_LEDGER = "9b55e7182132"
T_SMS = datetime(2025, 3, 1, 9, 0)
T_MARKETING = datetime(2025, 4, 1, 9, 0)
T_STOP = datetime(2025, 5, 1, 9, 0)
CREATED = datetime(2025, 1, 1)

OLD_CONTACT = sa.table("contact", *(sa.column(name) for name in (
    "id", "first_name", "last_name", "sms_consent", "marketing_consent", "marketing_consent_source")),
    *(sa.column(name, sa.DateTime) for name in (
        "sms_consent_at", "marketing_consent_at", "opted_out_at", "created_at", "updated_at")),
    sa.column("tags", sa.JSON), sa.column("form_data", sa.JSON))


def _old_row(contact_id, **flags):
    row = {"id": contact_id, "first_name": f"Old{contact_id}", "last_name": "Row", "tags": [], "form_data": {},
           "sms_consent": False, "sms_consent_at": None, "marketing_consent": False, "marketing_consent_at": None,
           "marketing_consent_source": None, "opted_out_at": None, "created_at": CREATED, "updated_at": CREATED}
    row.update(flags)
    return row


def _ledger(contact_id):
    return [(e.channel, e.purpose, e.granted, e.at, e.source) for e in db.session.execute(
        db.select(ConsentEntry).filter_by(contact_id=contact_id).order_by(ConsentEntry.id)).scalars()]


def _at_old_revision(app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision=BEFORE_LEDGER)


def test_upgrade_turns_each_old_consent_flag_into_ledger_rows_and_keeps_the_state(make_app):
    app = make_app(seed=False)
    _at_old_revision(app)
    rows = [
        _old_row(1, sms_consent=True, sms_consent_at=T_SMS),
        _old_row(2, sms_consent=False, sms_consent_at=T_SMS),  # said no, with a time: a withdrawal
        _old_row(3),  # never asked: no row, the defaults hold
        _old_row(4, sms_consent=True, sms_consent_at=T_SMS, marketing_consent=True, marketing_consent_at=T_MARKETING,
                 marketing_consent_source="api"),
        _old_row(5, sms_consent=True, sms_consent_at=T_SMS, marketing_consent=True, marketing_consent_at=T_MARKETING,
                 marketing_consent_source="console", opted_out_at=T_STOP),
    ]
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(OLD_CONTACT.insert(), rows)
        upgrade()
        assert _ledger(1) == [("sms", "transactional", True, T_SMS, "system")]
        assert _ledger(2) == [("sms", "transactional", False, T_SMS, "system")]
        assert _ledger(3) == []
        assert _ledger(4) == [("sms", "transactional", True, T_SMS, "system")] + [
            (channel, "marketing", True, T_MARKETING, "api") for channel in ("sms", "email", "voice")]
        stop_rows = [row for row in _ledger(5) if row[4] == "keyword"]
        assert sorted(stop_rows) == sorted((channel, purpose, False, T_STOP, "keyword") for channel in ("sms", "voice")
                                           for purpose in ("transactional", "marketing"))
        assert all(row[4] == "staff" for row in _ledger(5) if row[1] == "marketing" and row[2])

        state = {contact_id: consent_map(db.session.get(Contact, contact_id)) for contact_id in range(1, 6)}
        assert state[1]["sms"] == {"transactional": True, "marketing": False}
        assert state[2]["sms"]["transactional"] is False and state[2]["email"]["transactional"] is True
        defaults = {"transactional": True, "marketing": False}
        assert state[3] == {channel: defaults for channel in ("sms", "email", "voice")}
        assert all(state[4][channel]["marketing"] for channel in ("sms", "email", "voice"))
        # The opt-out stands over the earlier grants; e-mail marketing, untouched by STOP, continues.
        assert state[5]["sms"] == {"transactional": False, "marketing": False}
        assert state[5]["voice"] == {"transactional": False, "marketing": False}
        assert state[5]["email"] == {"transactional": True, "marketing": True}
        assert opted_out_at(db.session.get(Contact, 5)) == T_STOP
        assert opted_out_at(db.session.get(Contact, 1)) is None
        assert db.session.get(Contact, 1).language == "en"


def test_upgrade_indexes_the_tags_and_form_fields_contacts_already_had(make_app):
    app = make_app(seed=False)
    _at_old_revision(app)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(OLD_CONTACT.insert(), [_old_row(
                9, tags=["VIP", "Straße"], form_data={"age": "15", "visit": "2025-03-14", "ok": True, "gone": None})])
        upgrade()
        tags = db.session.execute(db.select(ContactTag.tag).filter_by(contact_id=9).order_by(ContactTag.tag)).scalars()
        assert list(tags) == ["strasse", "vip"]
        fields = {f.name: (f.text, f.number, f.date) for f in db.session.execute(
            db.select(ContactField).filter_by(contact_id=9)).scalars()}
        assert fields == {"age": ("15", 15.0, None), "visit": ("2025-03-14", None, "2025-03-14"),
                          "ok": ("true", None, None)}


def test_downgrade_brings_the_flags_back_from_the_ledger(make_app):
    app = make_app(seed=False)
    _at_old_revision(app)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(OLD_CONTACT.insert(), [
                _old_row(1, sms_consent=True, sms_consent_at=T_SMS),
                _old_row(2, sms_consent=True, sms_consent_at=T_SMS, marketing_consent=True,
                         marketing_consent_at=T_MARKETING, opted_out_at=T_STOP)])
        upgrade()
        downgrade(revision=BEFORE_LEDGER)
        with db.engine.connect() as conn:
            back = {row.id: row for row in conn.execute(sa.select(OLD_CONTACT))}
        assert back[1].sms_consent and back[1].opted_out_at is None
        assert back[2].opted_out_at == T_STOP and not back[2].sms_consent
        assert back[2].marketing_consent  # e-mail marketing was never withdrawn
        upgrade()
