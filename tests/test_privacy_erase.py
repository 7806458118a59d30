"""Erasure table by table: what each table keeps of an erased contact, what is cancelled or stopped, and that
nothing can be sent to them afterwards (core, API, console)."""
from __future__ import annotations

import threading

import pytest

from messaging.audit import SYSTEM, Actor
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.messages import MessageRequest, send_message
from messaging.models import (
    Attachment,
    AuditEntry,
    Broadcast,
    BroadcastRecipient,
    Campaign,
    CampaignEnrolment,
    ConsentEntry,
    ContactField,
    ContactImportReject,
    ContactTag,
    Delivery,
    Message,
    MessageEvent,
    OneTimeCode,
    OutboxEntry,
    Segment,
    ViewerSession,
)
from messaging.privacy import erase_contact
from seeds.factories import make_contact, make_template
from tests.support.api import assert_error, caller
from tests.support.console import signed_in_client
from tests.support.imports import import_text
from tests.support.messages import link_path
from tests.support.raw_scan import EMAIL, PHONE, SECURE_BODY, distinctive_contact, reload_contact


def _of(model, scene, column="message_id"):
    ids = db.select(Message.id).where(Message.contact_id == scene.contact_id)
    return db.session.scalars(db.select(model).where(getattr(model, column).in_(ids))).all()


def test_every_table_keeps_nothing_personal_and_nothing_stays_pending(app):
    with app.app_context():
        scene = distinctive_contact()
        old_link = link_path(db.session.get(Message, scene.secure_id))
        report = erase_contact(SYSTEM, scene.contact_id)
        db.session.commit()
        assert report.messages == 4 and report.cancelled_messages == 1 and report.sessions_ended == 1
        assert report.consent_notes == 1

        contact = reload_contact(scene.contact_id)
        assert (contact.first_name, contact.last_name, contact.phone, contact.email) == ("Erased", "", None, None)
        assert (contact.date_of_birth, contact.pin_hash, contact.tags, contact.form_data) == (None, None, [], {})
        assert contact.erased_at is not None
        assert db.session.scalars(db.select(ContactTag).filter_by(contact_id=contact.id)).all() == []
        assert db.session.scalars(db.select(ContactField).filter_by(contact_id=contact.id)).all() == []

        messages = db.session.scalars(db.select(Message).filter_by(contact_id=contact.id)).all()
        assert {(m.data_key, m.body_ciphertext, m.content_destroyed_reason) for m in messages} \
            == {(None, None, "erasure")}
        assert all(m.revoked_at is not None for m in messages if m.direction == "out")
        assert db.session.get(Message, scene.scheduled_id).status == "cancelled"

        deliveries = _of(Delivery, scene)
        assert {(d.to_address, d.last_error, d.payload_ciphertext) for d in deliveries} == {("", None, None)}
        assert not any(d.status in ("queued", "sending", "paused") for d in deliveries)
        assert db.session.scalars(db.select(OutboxEntry).where(OutboxEntry.to_address.in_([PHONE, EMAIL]))).all() == []
        assert _of(OneTimeCode, scene) == []
        assert {(a.ciphertext, a.filename.startswith("erased-file-")) for a in _of(Attachment, scene)} == {(b"", True)}

        events = _of(MessageEvent, scene)
        assert {"content_destroyed", "failed", "cancelled"} <= {e.kind for e in events}
        assert all("error" not in e.detail and e.ip_hash is None for e in events)
        sessions = db.session.scalars(db.select(ViewerSession).filter_by(contact_id=contact.id)).all()
        assert [(s.ended_reason, s.ip_hash) for s in sessions] == [("erased", None)]
        assert [e.note for e in db.session.scalars(db.select(ConsentEntry).filter_by(contact_id=contact.id))] == [None]

        erasures = db.session.scalars(db.select(AuditEntry).filter_by(action="contact.erase")).all()
        assert [(e.actor, e.target_type, e.target_id) for e in erasures] == [("system", "contact", str(contact.id))]
        assert erasures[0].detail["messages"] == 4
    page = app.test_client().get(old_link)  # the client's old link leads nowhere now
    assert page.status_code == 410 and "can no longer be opened" in page.get_data(as_text=True)
    assert SECURE_BODY not in page.get_data(as_text=True)
    # "Ask for a new link" on it answers as for anyone, and records nothing on the erased conversation.
    asked = app.test_client().post(f"{old_link}/ask")
    assert asked.status_code == 200 and SECURE_BODY not in asked.get_data(as_text=True)
    with app.app_context():
        secure = db.session.get(Message, scene.secure_id)
        assert (secure.link_requested_at, secure.staff_unread_at) == (None, None)
        assert "link_requested" not in {e.kind for e in _of(MessageEvent, scene)}


def test_broadcasts_and_campaigns_of_the_contact_stop(app):
    with app.app_context():
        contact, other = make_contact(), make_contact()
        template = make_template()
        broadcast = Broadcast(name="Spring", template_id=template.id, status="sending")
        segment = Segment(name="everyone", rule={"all": []})
        db.session.add_all([broadcast, segment])
        db.session.flush()
        campaign = Campaign(name="Welcome", segment_id=segment.id, status="active")
        db.session.add(campaign)
        db.session.flush()
        db.session.add_all([BroadcastRecipient(broadcast_id=broadcast.id, contact_id=c.id, outcome="to_send")
                            for c in (contact, other)]
                           + [CampaignEnrolment(campaign_id=campaign.id, contact_id=c.id, state="active")
                              for c in (contact, other)])
        db.session.commit()
        erase_contact(SYSTEM, contact.id)
        db.session.commit()
        outcomes = dict(db.session.execute(db.select(BroadcastRecipient.contact_id, BroadcastRecipient.outcome)).all())
        assert outcomes == {contact.id: "unreachable", other.id: "to_send"}
        states = {e.contact_id: (e.state, e.exit_reason, e.next_due_at) for e in
                  db.session.scalars(db.select(CampaignEnrolment))}
        assert states[contact.id] == ("exited", "opt_out", None) and states[other.id][0] == "active"


def test_an_imports_rejected_rows_naming_the_contact_are_deleted(app, runner, tmp_path):
    with app.app_context():
        contact_id = make_contact(phone=PHONE, email=EMAIL).id
    answer = import_text(runner, tmp_path, "first_name,phone,email\n"
                                           f"Zed,not-a-number,{EMAIL.upper()}\n"
                                           "Other,also-not-a-number,other@example.com\n")
    assert answer["rejected"] == 2, answer
    with app.app_context():
        report = erase_contact(SYSTEM, contact_id)
        db.session.commit()
        assert report.rejected_rows == 1
        assert db.session.scalar(db.select(db.func.count(ContactImportReject.id))) == 1


def test_only_an_admin_erases(app):
    with app.app_context():
        contact = make_contact()
        with pytest.raises(Conflict, match="Only an admin"):
            erase_contact(Actor(label="staff@example.com", role="staff"), contact.id)
        assert reload_contact(contact.id).erased_at is None


def test_an_erased_contact_cannot_be_messaged_by_the_core_the_api_or_the_console(app):
    with app.app_context():
        contact_id = make_contact().id
        erase_contact(SYSTEM, contact_id)
        db.session.commit()
        with pytest.raises(ValidationFailed, match="was erased") as refused:
            send_message(MessageRequest(contact=reload_contact(contact_id), channel="sms", body="Hello"), SYSTEM)
        assert refused.value.code == "contact_erased"
        db.session.rollback()

    api = caller(app, role="admin")
    response = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hello"})
    error = assert_error(response, 422, "contact_erased", ("contact_id",))
    assert "erased" in error["message"]

    console = signed_in_client(app, "admin")
    page = console.post("/admin/compose/", data={"contact_id": contact_id, "channel": "sms", "body": "Hello",
                                                 "action": "send"})
    assert page.status_code in (409, 422)
    assert "erased" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Message.id)).filter_by(contact_id=contact_id)) == 0


def test_two_erasures_at_once_erase_once_and_write_one_audit_entry(app):
    with app.app_context():
        scene = distinctive_contact()
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def erase():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                reports.append(erase_contact(SYSTEM, scene.contact_id))
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(reports) == 2
    assert sorted(r.already_erased_at is None for r in reports) == [False, True]
    assert sum(r.messages for r in reports) == 4
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).filter_by(action="contact.erase")) == 1
