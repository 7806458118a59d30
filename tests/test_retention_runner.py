"""Retention with time travel: content is there the day before it falls due and gone on the day, per kind."""
from __future__ import annotations

from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.client.access import add_reply
from messaging.client.codes import issue_code
from messaging.client.inbound import receive_sms
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.models import AuditEntry, Message
from messaging.retention import run_retention
from seeds.factories import make_contact
from tests.support.messages import send
from tests.support.records import audit_entries, event_kinds
from tests.support.retention import (
    attachment_bytes,
    content_of,
    outbox_rows,
    reload,
    sealed_payloads,
    secure_scene,
    set_settings,
)

DAYS = 30
MINUTE = timedelta(minutes=1)


def test_a_secure_message_keeps_its_content_until_n_days_after_its_link_expired_then_loses_all_of_it(ctx, clock):
    clock.ahead()
    set_settings(retention_days=DAYS)
    scene = secure_scene(make_contact(first_name="Ines"))
    message, reply = scene.message, scene.reply
    assert outbox_rows(message) and any(sealed_payloads(message)) and all(attachment_bytes(reply))
    audits_before = db.session.scalar(db.select(db.func.count(AuditEntry.id)))
    due = message.expires_at + timedelta(days=DAYS)

    clock.at(due - MINUTE)
    assert run_retention(SYSTEM).messages == 0
    assert content_of(message) == "Your results are ready" and content_of(reply) == "Thank you, I read it"
    assert all(attachment_bytes(message)) and outbox_rows(message)

    clock.at(due)
    report = run_retention(SYSTEM)
    assert (report.counts["secure"], report.counts["replies"], report.messages) == (1, 1, 2)
    for gone in (reload(message), reload(reply)):
        assert gone.data_key is None and gone.body_ciphertext is None and gone.subject_ciphertext is None
        assert (gone.content_destroyed_at, gone.content_destroyed_reason) == (due, "retention")
        assert attachment_bytes(gone) == [b""]
    assert content_of(message) is None and content_of(reply) is None
    assert outbox_rows(message) == 0 and sealed_payloads(message) == [None, None]
    # What happened stays on record: every earlier event and audit entry, plus the destruction.
    kinds = event_kinds(message)
    assert kinds[0] == "queued" and "sent" in kinds and kinds[-1] == "content_destroyed"
    assert event_kinds(reply) == ["content_destroyed"]
    # Each pass leaves one audit entry with its counts (the one that found nothing due too).
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == audits_before + 2
    quiet, entry = audit_entries("retention.run")
    assert quiet.detail["destroyed"] == 0
    assert entry.detail == {"retention_days": DAYS, "destroyed": 2, "skipped": 0, "secure": 1, "standard": 0,
                            "inbound": 0, "replies": 1}

    assert run_retention(SYSTEM).messages == 0  # idempotent: nothing is destroyed twice
    assert event_kinds(message).count("content_destroyed") == 1


def test_a_standard_message_goes_n_days_after_it_was_sent_not_after_it_was_written(ctx, clock):
    start = clock.ahead()
    set_settings(retention_days=DAYS)
    message = send(make_contact(), body="Your appointment is on Monday", secure=False)
    sent = start + timedelta(hours=5)  # the provider was down: it went out hours later
    clock.at(sent)
    assert dispatch_once().sent == 1
    assert outbox_rows(message) == 1

    clock.at(start + timedelta(days=DAYS))
    assert run_retention(SYSTEM).messages == 0
    clock.at(sent + timedelta(days=DAYS) - MINUTE)
    assert run_retention(SYSTEM).messages == 0
    assert content_of(message) == "Your appointment is on Monday"
    clock.at(sent + timedelta(days=DAYS))
    assert run_retention(SYSTEM).counts["standard"] == 1
    assert content_of(message) is None and outbox_rows(message) == 0


def test_an_inbound_text_goes_n_days_after_it_arrived(ctx, clock):
    arrived = clock.ahead()
    set_settings(retention_days=DAYS)
    contact = make_contact(phone="+14155550123")
    inbound = receive_sms(contact.phone, "My new address is 12 Elm Street", provider_id="SM-retention-1").message
    db.session.commit()

    clock.at(arrived + timedelta(days=DAYS) - MINUTE)
    assert run_retention(SYSTEM).messages == 0
    assert content_of(inbound) == "My new address is 12 Elm Street"
    clock.at(arrived + timedelta(days=DAYS))
    report = run_retention(SYSTEM)
    assert report.counts["inbound"] == 1
    assert content_of(inbound) is None and reload(inbound).content_destroyed_reason == "retention"


def test_zero_days_keeps_content_for_ever(ctx, clock):
    clock.ahead()
    set_settings(retention_days=0)
    scene = secure_scene(make_contact())
    clock.ahead(days=3650 * 3)
    report = run_retention(SYSTEM)
    assert report.messages == 0
    assert "kept for ever" in report.summary()
    assert content_of(scene.message) == "Your results are ready" and content_of(scene.reply)
    assert audit_entries("retention.run") == []


def test_queued_and_scheduled_messages_are_never_destroyed(ctx, clock):
    start = clock.ahead()
    set_settings(retention_days=1)
    contact = make_contact()
    queued = send(contact, body="Waiting for the provider", secure=False)  # never dispatched
    scheduled = send(contact, body="For next month", secure=False, send_at=start + timedelta(days=300))
    clock.at(start + timedelta(days=200))
    assert run_retention(SYSTEM).messages == 0
    assert reload(queued).status == "queued" and content_of(queued) == "Waiting for the provider"
    assert reload(scheduled).status == "scheduled" and content_of(scheduled) == "For next month"


def test_a_dry_run_reports_what_is_due_and_changes_nothing(ctx, clock):
    clock.ahead()
    set_settings(retention_days=DAYS)
    scene = secure_scene(make_contact())
    clock.at(scene.message.expires_at + timedelta(days=DAYS))
    report = run_retention(SYSTEM, dry_run=True)
    assert report.messages == 2 and report.summary().startswith("Would destroy the content of 2 messages")
    assert "nothing was changed" in report.summary()
    assert content_of(scene.message) == "Your results are ready" and outbox_rows(scene.message)
    assert "content_destroyed" not in event_kinds(scene.message)
    assert audit_entries("retention.run") == []
    assert run_retention(SYSTEM).messages == 2  # and the real pass then does it


def test_a_pass_works_through_many_batches(ctx, clock):
    start = clock.ahead()
    set_settings(retention_days=1)
    contact = make_contact()
    messages = [send(contact, body=f"Note {n}", secure=False) for n in range(7)]
    dispatch_once()
    clock.at(start + timedelta(days=2))
    report = run_retention(SYSTEM, batch_size=2)
    assert report.messages == 7 and report.batches == 4
    assert all(reload(m).content_destroyed_at is not None for m in messages)


def test_a_reply_written_after_its_message_fell_due_gets_its_own_n_days(ctx, clock):
    clock.ahead()
    set_settings(retention_days=DAYS)
    scene = secure_scene(make_contact())
    due = scene.message.expires_at + timedelta(days=DAYS)
    clock.at(due - timedelta(days=1))
    late = add_reply(scene.message, "Writing again from the thread", ip=None)
    db.session.commit()
    clock.at(due)
    assert run_retention(SYSTEM).messages == 2
    assert content_of(late) == "Writing again from the thread"
    clock.at(due - timedelta(days=1) + timedelta(days=DAYS))
    assert run_retention(SYSTEM).counts["replies"] == 1
    assert content_of(late) is None
    assert db.session.get(Message, late.id).content_destroyed_reason == "retention"


def test_a_message_with_a_delivery_still_pending_is_kept_until_the_engine_is_done_with_it(ctx, clock):
    clock.ahead()
    set_settings(retention_days=2)
    message = send(make_contact(), body="Behind a code", secure=True)
    dispatch_once()
    issue_code(message, ip=None)  # queued, never sent: the provider was never reached
    db.session.commit()
    due = clock.at(message.expires_at + timedelta(days=2))
    assert run_retention(SYSTEM).messages == 0
    assert content_of(message) == "Behind a code" and any(sealed_payloads(message))
    dispatch_once(now=due)  # the engine finishes with the code (its link is long dead)
    assert run_retention(SYSTEM).counts["secure"] == 1
    assert content_of(message) is None and sealed_payloads(message) == [None, None]
