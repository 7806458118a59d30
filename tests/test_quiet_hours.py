"""Quiet hours: reminders and marketing wait for the contact's morning; staff one-offs go at once.

Broadcast and campaign messages, and the window read at each contact's clock, are in
test_quiet_hours_contacts.py."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from messaging.audit import SYSTEM, Actor
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.quiet_hours import parse_quiet_hours
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, send_message
from messaging.settings import get_settings
from seeds.factories import make_contact, make_user, situation


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("now", "opens"), [
    ("2026-03-10T21:30", "2026-03-11T08:00"),  # evening, inside: opens next morning
    ("2026-03-10T23:59", "2026-03-11T08:00"),
    ("2026-03-11T00:00", "2026-03-11T08:00"),  # after midnight, still inside
    ("2026-03-11T07:59", "2026-03-11T08:00"),
    ("2026-03-11T08:00", None),  # the window has opened
    ("2026-03-11T12:00", None),
    ("2026-03-11T20:59", None),
    ("2026-03-11T21:00", "2026-03-12T08:00"),
])
def test_a_window_across_midnight_in_utc(now, opens):
    window = parse_quiet_hours("21:00-08:00", "UTC")
    assert window.opens_at(utc(now)) == (utc(opens) if opens else None)


@pytest.mark.parametrize(("now", "opens"), [
    ("2026-03-11T11:59", None), ("2026-03-11T12:00", "2026-03-11T14:00"),
    ("2026-03-11T13:59", "2026-03-11T14:00"), ("2026-03-11T14:00", None),
])
def test_a_window_within_one_day(now, opens):
    window = parse_quiet_hours("12:00-14:00", "UTC")
    assert window.opens_at(utc(now)) == (utc(opens) if opens else None)


def test_the_window_is_local_time_in_its_zone():
    window = parse_quiet_hours("21:00-08:00", "America/New_York")
    # 02:00 UTC on 11 March is 22:00 in New York (EDT, UTC-4): quiet until 08:00 EDT = 12:00 UTC.
    assert window.opens_at(utc("2026-03-11T02:00")) == utc("2026-03-11T12:00")
    # 14:00 UTC is 10:00 in New York: daytime.
    assert window.opens_at(utc("2026-03-11T14:00")) is None
    # 23:00 UTC is 19:00 in New York: not quiet there, though it would be in UTC.
    assert window.opens_at(utc("2026-03-11T23:00")) is None


def test_spring_forward_night_opens_at_eight_local_summer_time():
    # London, 29 March 2026: clocks go from 01:00 GMT to 02:00 BST. 22:00 GMT on the 28th is quiet;
    # the window opens at 08:00 BST on the 29th = 07:00 UTC (not 08:00 UTC).
    window = parse_quiet_hours("21:00-08:00", "Europe/London")
    assert window.opens_at(utc("2026-03-28T22:00")) == utc("2026-03-29T07:00")
    assert window.opens_at(utc("2026-03-29T06:59")) == utc("2026-03-29T07:00")
    assert window.opens_at(utc("2026-03-29T07:00")) is None


def test_fall_back_night_opens_at_eight_local_winter_time():
    # London, 25 October 2026: clocks go from 02:00 BST back to 01:00 GMT. 08:00 GMT = 08:00 UTC.
    window = parse_quiet_hours("21:00-08:00", "Europe/London")
    assert window.opens_at(utc("2026-10-24T20:30")) == utc("2026-10-25T08:00")  # 21:30 BST
    assert window.opens_at(utc("2026-10-25T07:59")) == utc("2026-10-25T08:00")


def test_an_end_time_inside_the_spring_gap_opens_right_after_the_gap():
    window = parse_quiet_hours("22:00-01:30", "Europe/London")
    # 01:30 does not exist on 29 March 2026 in London (01:00 GMT → 02:00 BST): opens at 01:00 UTC.
    opens = window.opens_at(utc("2026-03-28T23:00"))
    assert opens is not None and utc("2026-03-29T00:59") < opens <= utc("2026-03-29T01:30")


def test_empty_or_malformed_quiet_hours_mean_none():
    assert parse_quiet_hours("", "UTC") is None
    assert parse_quiet_hours("nonsense", "UTC") is None
    assert parse_quiet_hours("08:00-08:00", "UTC") is None


def _night(hour: int = 22, minute: int = 0, days: int = 1) -> datetime:
    """A time on a coming night (the engine only sends what is already due, so never in the past)."""
    return datetime.combine(utcnow().date() + timedelta(days=days), datetime.min.time()).replace(
        hour=hour, minute=minute)


def _quiet_night(ctx):
    settings = get_settings()
    settings.quiet_hours = "21:00-08:00"
    settings.timezone = "UTC"
    db.session.commit()


def _contact_on_utc(**fields):
    """A contact whose own clock is UTC, the clock the nights below are written in. (The window is read
    at the contact's clock: a +1 415 number alone would put the contact in America/Los_Angeles.)"""
    return make_contact(timezone="UTC", **fields)


def test_an_automated_reminder_at_night_waits_until_eight_then_goes(ctx):
    _quiet_night(ctx)
    contact = _contact_on_utc()
    api_actor = Actor(label="api-key:booking", api_key_id=None, role="staff")
    message = send_message(MessageRequest(contact=contact, channel="sms", body="Reminder: Tuesday 10:00",
                                          situation=situation("appointment_reminder"), secure=False), api_actor)
    db.session.commit()
    result = dispatch_once(now=_night(22))
    assert result.deferred == 1 and result.sent == 0
    db.session.refresh(message)
    assert message.status == "scheduled"
    assert message.deliveries[0].next_attempt_at == _night(8, days=2)
    assert dispatch_once(now=_night(7, 59, days=2)).claimed == 0
    assert dispatch_once(now=_night(8, days=2)).sent == 1
    db.session.refresh(message)
    assert message.status == "sent" and message.deliveries[0].attempts == 1
    assert len(read_outbox(contact.phone)) == 1


def test_marketing_waits_too(ctx):
    _quiet_night(ctx)
    contact = _contact_on_utc(marketing_consent=True)
    send_message(MessageRequest(contact=contact, channel="sms", body="Spring offer",
                                situation=situation("marketing"), secure=False), SYSTEM)
    db.session.commit()
    assert dispatch_once(now=_night(23)).deferred == 1


def test_a_staff_one_off_goes_at_once_even_at_night(ctx):
    _quiet_night(ctx)
    staff = make_user(role="staff")
    contact = _contact_on_utc()
    send_message(MessageRequest(contact=contact, channel="sms", body="Running 10 minutes late, sorry",
                                situation=situation("appointment_reminder"), secure=False), Actor.for_user(staff))
    send_message(MessageRequest(contact=contact, channel="sms", body="Your results are ready",
                                situation=situation("healthcare"), secure=True), SYSTEM)
    db.session.commit()
    result = dispatch_once(now=_night(23))
    assert result.sent == 2 and result.deferred == 0


def test_without_quiet_hours_nothing_waits(ctx):
    contact = _contact_on_utc()
    send_message(MessageRequest(contact=contact, channel="sms", body="Reminder",
                                situation=situation("appointment_reminder"), secure=False), SYSTEM)
    db.session.commit()
    assert dispatch_once(now=_night(23)).sent == 1
