"""Funnels per template, broadcast and campaign step — sent → delivered → opened → verified → viewed → replied, with
the median time from sent to viewed — on their console pages; and a message's timeline of events on its page."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.insight.funnel import template_funnel
from messaging.models import Broadcast, Contact, Message, MessageEvent
from messaging.outreach.broadcasts import create_broadcast
from messaging.outreach.campaigns import create_campaign
from seeds.factories import make_contact, make_template
from tests.support.console import signed_in_client
from tests.support.insight import add_message, text, texts
from tests.support.messages import link_path, send

T0 = datetime(2030, 6, 3, 8, 0)


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_a_templates_funnel_counts_each_stage_and_the_median_time_from_sent_to_viewed(app, clock):
    """Four clients get a secure message from one template; three open it and verify after 10 min, 30 min and 2 h
    (one of them again later): the median is 30 minutes, whatever the second view."""
    clock.at(T0)
    admin = signed_in_client(app, "admin")
    staff = signed_in_client(app, "staff")
    with app.app_context():
        template = make_template(slug="results")
        paths = []
        for n in range(4):
            contact = make_contact(first_name=f"Client{n}", pin="2468")
            paths.append(link_path(send(contact, template=template, secure=True, require_pin=True)))
        dispatch_once()
        template_id = template.id
    for path, after in zip(paths, (timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=2)), strict=False):
        clock.at(T0 + after)
        reader = app.test_client()
        assert reader.get(path).status_code == 200
        assert reader.post(path, data={"pin": "2468"}).status_code == 200
        if after == timedelta(minutes=10):
            clock.at(T0 + timedelta(hours=5))
            assert reader.post(path, data={"pin": "2468"}).status_code == 200
    with app.app_context():
        funnel = template_funnel(template_id)
    assert funnel.messages == 4
    assert {s.key: s.count for s in funnel.stages} == {"sent": 4, "delivered": 0, "opened": 3, "verified": 3,
                                                       "viewed": 3, "replied": 0}
    assert funnel.median_seconds_to_view == pytest.approx(30 * 60, abs=1)
    html = get(admin, f"/admin/templates/details/?id={template_id}")
    assert text(html, "data-stage", "viewed") == "Viewed the content 3 75 %"
    assert text(html, "data-median") == "30 min"
    # A staff member who sent none of them sees their own (no) figures.
    assert "No message of yours" in text(get(staff, f"/admin/templates/details/?id={template_id}"),
                                         "data-funnel-empty")


def test_an_even_number_of_views_takes_the_mean_of_the_middle_two(app, clock):
    clock.at(T0)
    with app.app_context():
        template = make_template(slug="even")
        contact = make_contact()
        for minutes in (4, 10, 20, 600):
            add_message(contact, T0, template_id=template.id, history=("sent", "viewed"),
                        view_after=timedelta(minutes=minutes))
        add_message(contact, T0, template_id=template.id, history=("sent",))
        db.session.commit()
        assert template_funnel(template.id).median_seconds_to_view == pytest.approx(15 * 60, abs=1)


@pytest.fixture
def outreach(app, clock):
    """A sent broadcast and a campaign whose first step made messages, each with a known history."""
    clock.at(T0)
    with app.app_context():
        make_template(slug="outreach")
        segment = create_segment(SYSTEM, "Everyone", {"match": "all", "conditions": [{"tag": "vip"}]})
        db.session.flush()
        broadcast = create_broadcast(SYSTEM, name="June", segment_ids=[segment.id], template_slug="outreach")
        campaign = create_campaign(SYSTEM, name="Onboarding", segment_id=segment.id,
                                   steps=[{"template": "outreach", "delay": {"after": "enrolment", "minutes": 0}}])
        db.session.flush()
        step = campaign.steps[0]
        histories = [("sent", "delivered", "link_opened", "viewed", "replied"), ("sent", "delivered"), ("sent",)]
        for n, history in enumerate(histories):
            contact = make_contact(first_name=f"Reader{n}")
            add_message(contact, T0, history=history, broadcast_id=broadcast.id, view_after=timedelta(hours=1))
            add_message(contact, T0, history=history[:2], campaign_step_id=step.id)
        db.session.get(Broadcast, broadcast.id).status = "sent"
        db.session.commit()
        return broadcast.id, campaign.id


def test_a_broadcasts_page_shows_its_funnel(app, outreach):
    broadcast_id, _campaign_id = outreach
    html = get(signed_in_client(app, "admin"), f"/admin/broadcasts/{broadcast_id}/")
    assert texts(html, "data-stage-count") == ["3", "2", "1", "0", "1", "1"]
    assert text(html, "data-median") == "1 h"


def test_each_campaign_step_shows_its_funnel(app, outreach):
    _broadcast_id, campaign_id = outreach
    html = get(signed_in_client(app, "admin"), f"/admin/campaigns/{campaign_id}/")
    section = html[html.index("data-insight-funnel"):]
    assert texts(section, "data-stage-count")[:6] == ["3", "2", "0", "0", "0", "0"]
    assert text(section, "data-median") == "—"


def test_the_message_page_shows_its_timeline_with_detail_and_a_short_address_hash(app, clock):
    clock.at(T0)
    admin = signed_in_client(app, "admin")
    with app.app_context():
        message = send(make_contact(first_name="Tia"), body="Lab results", secure=True, require_pin=False)
        dispatch_once()
        message_id, path = message.id, link_path(message)
        contact_phone = db.session.get(Contact, message.contact_id).phone
    clock.at(T0 + timedelta(minutes=3))
    app.test_client().get(path, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    with app.app_context():
        detail = {"channel": "sms", "code": "30003", "error": f"unreachable {contact_phone}"}
        db.session.add(MessageEvent(message_id=message_id, kind="failed", at=T0 + timedelta(minutes=4), detail=detail))
        db.session.commit()
        opened = db.session.execute(db.select(MessageEvent).filter_by(message_id=message_id, kind="link_opened")
                                    ).scalar_one()
        assert db.session.get(Message, message_id).status == "sent"
    html = get(admin, f"/admin/messages/details/?id={message_id}")
    assert [row.split()[0] for row in texts(html, "data-event")] == ["queued", "sent", "link", "failed"]
    assert "channel sms · delivery notice" in text(html, "data-event", "sent")
    link_row = text(html, "data-event", "link_opened")
    assert "3 Jun 2030, 08:03:00 UTC" in link_row and "opens 1" in link_row and opened.ip_hash[:10] in link_row
    failed = text(html, "data-event", "failed")
    assert "code 30003" in failed and contact_phone not in failed  # the provider's raw text is left out
