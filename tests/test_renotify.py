"""The re-notify ladder, with the clock moved forward: never more notices than the ladder holds."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from messaging.audit import SYSTEM
from messaging.client.access import mark_viewed
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.renotify import schedule_renotices
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, send_message
from messaging.models import Delivery, MessageEvent
from messaging.settings import get_settings
from seeds.factories import make_contact


def _secure_message_notified(ladder: str = "24, 72"):
    settings = get_settings()
    settings.renotify_hours = ladder
    contact = make_contact(first_name="Ada")
    message = send_message(MessageRequest(contact=contact, channel="sms", body="Your biopsy result", secure=True),
                           SYSTEM)
    db.session.commit()
    start = utcnow()
    assert dispatch_once(now=start).sent == 1
    return message, contact, start


def _renotices(message) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).filter_by(message_id=message.id, kind="renotice")
                                   .order_by(Delivery.id)))


def _renotified_events(message) -> int:
    return db.session.scalar(select(func.count(MessageEvent.id)).filter_by(message_id=message.id, kind="renotified"))


def test_unread_message_gets_one_notice_per_rung_then_is_flagged_when_the_last_goes(ctx):
    message, contact, start = _secure_message_notified("24, 72")
    assert schedule_renotices(now=start + timedelta(hours=23, minutes=59)).queued == 0
    assert schedule_renotices(now=start + timedelta(hours=24)).queued == 1
    assert schedule_renotices(now=start + timedelta(hours=24)).queued == 0  # idempotent
    assert dispatch_once(now=start + timedelta(hours=24)).sent == 1
    assert _renotified_events(message) == 1
    db.session.refresh(message)
    assert message.unread_flagged_at is None and message.notices_sent == 2

    assert schedule_renotices(now=start + timedelta(hours=71)).queued == 0
    assert schedule_renotices(now=start + timedelta(hours=72)).queued == 1
    last_sent = start + timedelta(hours=72, minutes=1)
    assert dispatch_once(now=last_sent).sent == 1
    db.session.refresh(message)
    assert message.unread_flagged_at == last_sent  # flagged the moment the last renotice went
    assert message.notices_sent == 3

    for hours in (100, 500, 5000):
        assert schedule_renotices(now=start + timedelta(hours=hours)).queued == 0
        dispatch_once(now=start + timedelta(hours=hours))
    assert len(_renotices(message)) == 2 and _renotified_events(message) == 2
    notices = read_outbox(contact.phone)
    assert len(notices) == 3
    assert all("/m/" in n["body"] and "biopsy" not in n["body"] for n in notices)


def test_a_view_stops_the_ladder_even_with_a_renotice_already_queued(ctx):
    message, contact, start = _secure_message_notified("24, 72")
    assert schedule_renotices(now=start + timedelta(hours=24)).queued == 1
    mark_viewed(message, ip=None)
    db.session.commit()
    result = dispatch_once(now=start + timedelta(hours=24))
    assert result.sent == 0 and result.cancelled == 1
    assert schedule_renotices(now=start + timedelta(hours=80)).queued == 0
    db.session.refresh(message)
    assert message.unread_flagged_at is None
    assert len(read_outbox(contact.phone)) == 1


def test_an_empty_ladder_never_renotifies_and_flags_nothing(ctx):
    message, contact, start = _secure_message_notified("")
    for hours in (24, 72, 1000):
        assert schedule_renotices(now=start + timedelta(hours=hours)).queued == 0
    db.session.refresh(message)
    assert message.unread_flagged_at is None and _renotices(message) == []


def test_a_shorter_ladder_set_later_never_adds_notices_and_flags_the_message(ctx):
    message, contact, start = _secure_message_notified("24, 48, 72")
    schedule_renotices(now=start + timedelta(hours=24))
    dispatch_once(now=start + timedelta(hours=24))
    get_settings().renotify_hours = "24"
    db.session.commit()
    result = schedule_renotices(now=start + timedelta(hours=49))
    assert result.queued == 0 and result.flagged == 1
    assert len(_renotices(message)) == 1


def test_a_rung_waits_for_the_one_before_it_and_never_doubles_up(ctx):
    message, contact, start = _secure_message_notified("1, 2, 3")
    # The scheduler was down for days: it catches up one rung at a time, never three at once.
    late = start + timedelta(hours=100)
    assert schedule_renotices(now=late).queued == 1
    assert schedule_renotices(now=late).queued == 0
    dispatch_once(now=late)
    assert schedule_renotices(now=late).queued == 1
    assert len(_renotices(message)) == 2


def test_the_ladder_stops_when_the_link_expires_and_the_message_is_flagged(ctx):
    message, contact, start = _secure_message_notified("24, 500")
    schedule_renotices(now=start + timedelta(hours=24))
    dispatch_once(now=start + timedelta(hours=24))
    after_expiry = message.expires_at + timedelta(minutes=1)
    result = schedule_renotices(now=after_expiry)
    assert result.queued == 0 and result.flagged == 1
    assert len(_renotices(message)) == 1


def test_standard_messages_are_never_renotified(ctx):
    get_settings().renotify_hours = "1"
    contact = make_contact()
    send_message(MessageRequest(contact=contact, channel="sms", body="See you Tuesday", secure=False), SYSTEM)
    db.session.commit()
    start = utcnow()
    dispatch_once(now=start)
    assert schedule_renotices(now=start + timedelta(hours=5)).queued == 0


def test_renotices_of_a_voice_message_go_by_sms(ctx):
    get_settings().renotify_hours = "24"
    contact = make_contact()
    message = send_message(MessageRequest(contact=contact, channel="voice", body="Results", secure=True), SYSTEM)
    db.session.commit()
    start = utcnow()
    dispatch_once(now=start)
    dispatch_once(now=start)  # the link by SMS
    schedule_renotices(now=start + timedelta(hours=24))
    [renotice] = _renotices(message)
    assert renotice.channel == "sms" and renotice.to_address == contact.phone
