"""The consent ledger in the core: rows only added, the latest row per channel and purpose decides, defaults
(transactional granted, marketing not), and what each send path does with the state."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from messaging.audit import SYSTEM, Actor
from messaging.client.codes import code_route
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.renotify import schedule_renotices
from messaging.delivery.transports.outbox import read_outbox
from messaging.errors import ValidationFailed
from messaging.models import ConsentEntry, Delivery
from messaging.people.consent import (
    consent_history,
    consent_map,
    consent_summary,
    has_consent,
    record_consent,
    record_if_changed,
)
from messaging.people.contacts import create_contact, update_contact
from messaging.settings import get_settings
from seeds.factories import make_contact, situation
from tests.support.messages import send

STAFF = Actor(label="clerk@example.com", user_id=None, role="staff")


def _rows(contact) -> list[tuple]:
    return [(e.channel, e.purpose, e.granted, e.source) for e in consent_history(contact)]


def test_without_rows_transactional_is_granted_and_marketing_is_not(ctx):
    contact = make_contact()
    assert consent_map(contact) == {channel: {"transactional": True, "marketing": False}
                                    for channel in ("sms", "email", "voice")}
    summary = consent_summary(contact)
    assert summary["sms_consent"] is True and summary["sms_consent_at"] is None
    assert summary["marketing_consent"] is False and summary["marketing_consent_source"] is None
    assert summary["opted_out_at"] is None
    assert consent_history(contact) == []


def test_the_latest_row_decides_and_earlier_rows_stay_as_they_were(ctx, clock):
    contact = make_contact()
    start = clock.ahead(minutes=0)
    first = record_consent(contact, "email", "marketing", True, "staff", STAFF, note="asked at the desk")
    clock.at(start + timedelta(minutes=5))
    second = record_consent(contact, "email", "marketing", False, "client", SYSTEM)
    clock.at(start + timedelta(minutes=10))
    third = record_consent(contact, "email", "marketing", True, "api", SYSTEM)
    db.session.commit()
    assert has_consent(contact, "email", "marketing") is True
    assert [e.id for e in consent_history(contact)] == [third.id, second.id, first.id]  # newest first
    # Append-only: the earlier rows keep their values; nothing was rewritten to record the change.
    db.session.expire_all()
    kept = db.session.get(ConsentEntry, first.id)
    assert (kept.granted, kept.source, kept.actor, kept.note, kept.at) == (
        True, "staff", "clerk@example.com", "asked at the desk", start)
    assert db.session.get(ConsentEntry, second.id).granted is False
    # Other channels and purposes are untouched by email marketing.
    assert has_consent(contact, "sms", "marketing") is False and has_consent(contact, "email", "transactional")
    summary = consent_summary(contact)
    assert summary["marketing_consent"] is True and summary["marketing_consent_source"] == "api"
    assert summary["marketing_consent_at"] == start + timedelta(minutes=10)


def test_record_if_changed_adds_nothing_that_repeats_the_state(ctx):
    contact = make_contact()
    assert record_if_changed(contact, "sms", "transactional", True, "import", SYSTEM) is None  # the default
    assert record_if_changed(contact, "sms", "marketing", False, "import", SYSTEM) is None
    assert record_if_changed(contact, "sms", "marketing", True, "import", SYSTEM) is not None
    assert record_if_changed(contact, "sms", "marketing", True, "import", SYSTEM) is None
    db.session.commit()
    assert _rows(contact) == [("sms", "marketing", True, "import")]


def test_unknown_channel_purpose_or_source_is_refused(ctx):
    contact = make_contact()
    with pytest.raises(ValidationFailed) as refused:
        record_consent(contact, "fax", "junk", True, "staff", STAFF)
    assert set(refused.value.fields) == {"channel", "purpose"}
    with pytest.raises(ValueError, match="unknown consent source"):
        record_consent(contact, "sms", "marketing", True, "somebody", STAFF)
    with pytest.raises(ValidationFailed) as long_note:
        record_consent(contact, "sms", "marketing", True, "staff", STAFF, note="x" * 1001)
    assert "note" in long_note.value.fields
    assert db.session.scalar(select(func.count(ConsentEntry.id))) == 0


def test_the_legacy_flags_write_rows_with_their_source_only_when_they_change_the_state(ctx):
    contact = create_contact(STAFF, {"first_name": "Lea", "phone": "+14155550140", "email": "lea@example.com",
                                     "sms_consent": True, "marketing_consent": True}, source="staff")
    db.session.commit()
    assert sorted(_rows(contact)) == [("email", "marketing", True, "staff"), ("sms", "marketing", True, "staff"),
                                      ("voice", "marketing", True, "staff")]
    assert all(e.actor == "clerk@example.com" for e in consent_history(contact))
    update_contact(STAFF, contact, {"marketing_consent": True, "sms_consent": True}, source="staff")
    assert len(consent_history(contact)) == 3  # nothing changed, nothing added
    update_contact(STAFF, contact, {"sms_consent": False}, source="staff")
    db.session.commit()
    assert _rows(contact)[0] == ("sms", "transactional", False, "staff")
    assert consent_summary(contact)["opted_out_at"] is not None


def test_a_withdrawn_channel_gets_nothing_but_the_other_channels_still_do(ctx):
    contact = make_contact()
    record_consent(contact, "email", "transactional", False, "staff", STAFF, note="asked for no e-mail")
    db.session.commit()
    by_email = send(contact, channel="email", body="Your invoice", secure=False)
    assert by_email.status == "suppressed" and "opted out of e-mail" in by_email.suppressed_reason
    by_sms = send(contact, channel="sms", body="Your invoice", secure=False)
    assert by_sms.status == "queued"
    assert dispatch_once().sent == 1
    assert read_outbox(contact.email) == [] and len(read_outbox(contact.phone)) == 1


def test_a_withdrawal_after_queueing_suppresses_at_send_time(ctx):
    contact = make_contact()
    queued = send(contact, channel="email", body="Reminder", secure=False)
    record_consent(contact, "email", "transactional", False, "api", SYSTEM)
    db.session.commit()
    result = dispatch_once()
    assert result.suppressed == 1 and result.sent == 0
    db.session.refresh(queued)
    assert queued.status == "suppressed" and read_outbox(contact.email) == []


def test_marketing_needs_marketing_consent_on_the_messages_own_channel(ctx):
    contact = make_contact()
    record_consent(contact, "email", "marketing", True, "staff", STAFF)
    db.session.commit()
    offer = {"body": "Spring offer", "situation": situation("marketing"), "secure": False}
    by_email = send(contact, channel="email", **offer)
    by_sms = send(contact, channel="sms", **offer)
    assert by_email.status == "queued"
    assert by_sms.status == "suppressed" and "opt-in for texts" in by_sms.suppressed_reason
    # Withdrawn after queueing: the send-time check stops it too.
    record_consent(contact, "email", "marketing", False, "client", SYSTEM)
    db.session.commit()
    assert dispatch_once().suppressed == 1
    assert read_outbox(contact.email) == []


def test_a_code_never_goes_by_a_withdrawn_channel(ctx):
    contact = make_contact()
    message = send(contact, channel="sms", body="Results", secure=True, require_pin=True)
    assert code_route(message).channel == "email"
    record_consent(contact, "email", "transactional", False, "staff", STAFF)
    db.session.commit()
    route = code_route(message)
    assert (route.channel, route.same_channel) == ("sms", True)
    record_consent(contact, "sms", "transactional", False, "keyword", SYSTEM)
    db.session.commit()
    assert code_route(message) is None


def test_renotify_stops_and_flags_when_the_channel_is_withdrawn(ctx):
    get_settings().renotify_hours = "24"
    contact = make_contact()
    message = send(contact, channel="sms", body="Your biopsy result", secure=True)
    start = message.created_at
    assert dispatch_once(now=start).sent == 1
    record_consent(contact, "sms", "transactional", False, "keyword", SYSTEM)
    db.session.commit()
    assert schedule_renotices(now=start + timedelta(hours=25)).queued == 0
    db.session.refresh(message)
    assert message.unread_flagged_at is not None
    assert db.session.scalar(select(func.count(Delivery.id)).filter_by(kind="renotice")) == 0
