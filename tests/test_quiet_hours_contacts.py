"""Quiet hours at the contact's clock: every broadcast and campaign message waits for the contact's
morning (whoever pressed "send"), a contact without a zone is read at the organisation's clock, and
the other rules (a staff one-off goes at once, an API reminder waits) hold at the contact's clock too.

The organisation is in London, quiet 21:00-08:00. Dates are in January 2027, when London is UTC+0,
Los Angeles UTC-8 and New York UTC-5 (so LA's 23:00 is 07:00 UTC, LA's 08:00 is 16:00 UTC).
"""
from __future__ import annotations

from datetime import datetime

import pytest

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM, Actor
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.quiet_hours import QuietHours
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Broadcast, Campaign, CampaignStep
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template, make_user, situation
from tests.support.messages import send

LOS_ANGELES = "America/Los_Angeles"
NEW_YORK = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def london(ctx):
    """The organisation's clock is London's; quiet hours 21:00-08:00."""
    settings = get_settings()
    settings.quiet_hours = "21:00-08:00"
    settings.timezone = "Europe/London"
    db.session.commit()
    return ctx


def _staff_actor() -> Actor:
    return Actor.for_user(make_user(role="staff"))


def _broadcast_message(contact, actor: Actor):
    """A message of a broadcast a staff member created and sent from the console: a booking
    confirmation (recommendation "standard", not a reminder), so only being a broadcast makes it wait."""
    template = make_template(situation_key="booking_confirmation", body="Your booking is confirmed")
    segment = create_segment(SYSTEM, f"Everyone {contact.id}", {"match": "all", "conditions": [{"opted_out": False}]})
    broadcast = Broadcast(name=f"Confirmations {contact.id}", segment_ids=[segment.id], template_id=template.id,
                          situation_id=situation("booking_confirmation").id, created_by_id=actor.user_id,
                          status="sending")
    db.session.add(broadcast)
    db.session.flush()
    message = send(contact, body="Your booking is confirmed", situation=situation("booking_confirmation"),
                   secure=False, actor=actor)
    message.broadcast_id = broadcast.id
    db.session.commit()
    return message


def _campaign_step_message(contact, actor: Actor):
    """A message of step 1 of a campaign a staff member built."""
    template = make_template(situation_key="booking_confirmation", body="Thanks for booking")
    segment = create_segment(SYSTEM, f"Booked {contact.id}", {"match": "all", "conditions": [{"opted_out": False}]})
    campaign = Campaign(name=f"Welcome {contact.id}", segment_id=segment.id, created_by_id=actor.user_id,
                        situation_id=situation("booking_confirmation").id, status="active")
    campaign.steps.append(CampaignStep(position=1, template_id=template.id, delay={"after": "enrolment", "minutes": 0}))
    db.session.add(campaign)
    db.session.flush()
    message = send(contact, body="Thanks for booking", situation=situation("booking_confirmation"), secure=False,
                   actor=actor)
    message.campaign_step_id = campaign.steps[0].id
    db.session.commit()
    return message


def _deferred_until(message) -> datetime:
    db.session.refresh(message)
    assert message.status == "scheduled"
    return message.deliveries[0].next_attempt_at


def test_a_broadcast_at_eleven_at_night_in_los_angeles_waits_for_eight_there_then_goes(london, clock):
    contact = make_contact(first_name="Lou", phone="+14155550101", timezone=LOS_ANGELES)
    clock.at(utc("2027-01-13T07:00"))  # 23:00 in Los Angeles (07:00 in London, quiet there too)
    message = _broadcast_message(contact, _staff_actor())

    result = dispatch_once()
    assert (result.deferred, result.sent) == (1, 0)
    # 08:00 in Los Angeles, not 08:00 in London (which would be 08:00 UTC).
    assert _deferred_until(message) == utc("2027-01-13T16:00")
    assert read_outbox(contact.phone) == []

    clock.at(utc("2027-01-13T09:00"))  # London's morning, still 01:00 in Los Angeles: nothing is due
    assert dispatch_once().claimed == 0
    clock.at(utc("2027-01-13T16:00"))
    assert dispatch_once().sent == 1
    db.session.refresh(message)
    assert message.status == "sent"
    assert [row["body"] for row in read_outbox(contact.phone)] == ["Your booking is confirmed"]


def test_a_broadcast_in_the_organisations_night_goes_at_once_where_the_contact_is_awake(london, clock):
    contact = make_contact(first_name="Lou", phone="+14155550102", timezone=LOS_ANGELES)
    clock.at(utc("2027-01-13T22:30"))  # 22:30 in London, 14:30 in Los Angeles
    _broadcast_message(contact, _staff_actor())
    assert dispatch_once().sent == 1
    assert len(read_outbox(contact.phone)) == 1


def test_a_contact_without_a_zone_is_read_at_the_organisations_clock(london, clock):
    contact = make_contact(first_name="Nia", phone="+14155550103")  # +1 415 alone would give Los Angeles
    contact.timezone = None
    db.session.commit()
    clock.at(utc("2027-01-13T23:00"))  # 23:00 in London, 15:00 in Los Angeles
    message = _broadcast_message(contact, _staff_actor())

    assert dispatch_once().deferred == 1
    assert _deferred_until(message) == utc("2027-01-14T08:00")  # 08:00 in London
    assert read_outbox(contact.phone) == []


def test_a_zone_the_database_does_not_know_falls_back_to_the_organisations_clock():
    quiet = QuietHours.from_settings("21:00-08:00", "Europe/London")
    night_in_london = utc("2027-01-13T23:00")
    assert quiet.opens_at("Mars/Olympus", night_in_london) == utc("2027-01-14T08:00")
    assert quiet.opens_at(None, night_in_london) == utc("2027-01-14T08:00")
    assert quiet.opens_at(LOS_ANGELES, night_in_london) is None  # 15:00 there
    assert QuietHours.from_settings("", "Europe/London") is None


def test_a_campaign_step_waits_for_eight_in_the_contacts_zone(london, clock):
    contact = make_contact(first_name="Cy", phone="+12125550104", timezone=NEW_YORK)
    clock.at(utc("2027-01-14T03:00"))  # 22:00 in New York, 03:00 in London
    message = _campaign_step_message(contact, _staff_actor())

    assert dispatch_once().deferred == 1
    assert _deferred_until(message) == utc("2027-01-14T13:00")  # 08:00 in New York
    assert read_outbox(contact.phone) == []
    clock.at(utc("2027-01-14T13:00"))
    assert dispatch_once().sent == 1
    assert [row["body"] for row in read_outbox(contact.phone)] == ["Thanks for booking"]


def test_a_staff_one_off_still_goes_at_once_at_night_in_the_contacts_zone(london, clock):
    contact = make_contact(first_name="Lou", phone="+14155550105", timezone=LOS_ANGELES)
    clock.at(utc("2027-01-13T07:00"))  # 23:00 in Los Angeles
    send(contact, body="Running 10 minutes late, sorry", situation=situation("appointment_reminder"), secure=False,
         actor=_staff_actor())
    assert dispatch_once().sent == 1
    assert [row["body"] for row in read_outbox(contact.phone)] == ["Running 10 minutes late, sorry"]


def test_an_automated_reminder_waits_by_the_contacts_clock_not_the_organisations(london, clock):
    night_in_la = make_contact(first_name="Lou", phone="+14155550106", timezone=LOS_ANGELES)
    clock.at(utc("2027-01-13T10:00"))  # 10:00 in London, 02:00 in Los Angeles
    reminder = send(night_in_la, body="Reminder: Tuesday 10:00", situation=situation("appointment_reminder"),
                    secure=False)
    assert dispatch_once().deferred == 1
    assert _deferred_until(reminder) == utc("2027-01-13T16:00")

    awake_in_la = make_contact(first_name="Ana", phone="+14155550107", timezone=LOS_ANGELES)
    clock.at(utc("2027-01-13T22:00"))  # 22:00 in London, 14:00 in Los Angeles
    send(awake_in_la, body="Reminder: Friday 09:00", situation=situation("appointment_reminder"), secure=False)
    result = dispatch_once()
    assert (result.sent, result.deferred) == (2, 0)  # the first reminder's morning came too
    assert len(read_outbox(awake_in_la.phone)) == 1


def test_the_night_los_angeles_springs_forward_opens_at_eight_summer_time():
    # 14 March 2027: Los Angeles goes from 02:00 PST to 03:00 PDT; London stays on GMT until the 28th.
    quiet = QuietHours.from_settings("21:00-08:00", "Europe/London")
    assert quiet.opens_at(LOS_ANGELES, utc("2027-03-14T07:00")) == utc("2027-03-14T15:00")  # 23:00 PST → 08:00 PDT
    assert quiet.opens_at(LOS_ANGELES, utc("2027-03-14T15:00")) is None
