"""The console's home page is a dashboard of the last 30 days: messages per day by mode and channel, the secure
funnel with its median time to view, failures and suppressions by reason, unread secure messages to follow up and
recent replies — each as a server-drawn SVG and a table. Staff see the figures of the messages they created."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from messaging.db import db
from messaging.insight.dashboard import dashboard
from seeds.factories import make_contact
from tests.support.console import signed_in_client, user_id
from tests.support.insight import add_message, add_reply_event, text, texts

NOW = datetime(2030, 3, 31, 12, 0)
FIRST_DAY = datetime(2030, 3, 2, 9, 0)  # the first of the 30 days that end on 31 March


def page(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_with_no_data_every_part_of_the_dashboard_says_there_is_nothing_yet(app, clock):
    clock.at(NOW)
    html = page(signed_in_client(app, "admin"))
    assert "Nothing to show yet" in text(html, "data-dashboard-empty")
    for part in ("per-day", "funnel", "failures", "suppressions", "follow-up", "replies"):
        assert texts(html, "data-empty", part), part
    assert "<svg" not in html


@pytest.fixture
def month(app, clock):
    """A month of messages by two staff members (see the comments for what each figure must be)."""
    clock.at(NOW)
    clients = {name: signed_in_client(app, "staff", email=f"{name}@example.com") for name in ("ann", "bob")}
    clients["admin"] = signed_in_client(app, "admin")
    ann, bob = user_id(app, "ann@example.com"), user_id(app, "bob@example.com")
    with app.app_context():
        contact = make_contact(first_name="Rosa")
        read = []
        for day in range(30):
            at = FIRST_DAY + timedelta(days=day)
            # Ann: a secure SMS every day, read (day + 1) minutes after it was sent: median 15.5 minutes.
            read.append(add_message(contact, at, owner=ann, view_after=timedelta(minutes=day + 1),
                                    history=("sent", "delivered", "link_opened", "viewed")))
            if day % 2 == 0:  # Bob: a standard e-mail every other day (15)
                add_message(contact, at, mode="standard", channel="email", owner=bob)
            if day < 5:  # Ann: five secure e-mails that failed with the provider's code 30003
                add_message(contact, at + timedelta(hours=1), channel="email", owner=ann, history=("failed",))
            if 5 <= day < 8:  # Bob: three standard SMS not sent, the contact having opted out
                add_message(contact, at, mode="standard", owner=bob, history=("suppressed",))
            if day in (10, 12):  # Bob: two secure SMS sent and never read: to follow up
                add_message(contact, at, owner=bob)
        # Ann: one sent two hours ago (too soon to follow up) and one 40 days ago (outside the month, unread).
        add_message(contact, NOW - timedelta(hours=2), owner=ann)
        add_message(contact, NOW - timedelta(days=40), owner=ann)
        # Two replies to Ann's messages, and a text from the client that answers nothing (admins only).
        add_reply_event(read[20], read[20].viewed_at + timedelta(minutes=5))
        add_reply_event(read[25], read[25].viewed_at + timedelta(minutes=5))
        db.session.add(type(read[0])(contact_id=contact.id, direction="in", channel="sms", mode="standard",
                                     status="received", created_at=NOW - timedelta(hours=1)))
        db.session.commit()
    return clients, {"ann": ann, "bob": bob}


def test_a_month_of_data_gives_the_right_figures_to_an_admin(app, month):
    clients, _ids = month
    with app.app_context():
        figures = dashboard(NOW)
    per_day = figures.per_day
    assert per_day.days[0] == "2030-03-02" and per_day.days[-1] == "2030-03-31" and len(per_day.days) == 30
    assert per_day.series == [("secure", "email"), ("secure", "sms"), ("standard", "email"), ("standard", "sms")]
    assert per_day.total == 31 + 2 + 5 + 15 + 3
    assert per_day.count("2030-03-02", "secure", "email") == 1 and per_day.count("2030-03-31", "secure", "sms") == 2
    funnel = figures.funnel
    assert funnel.messages == 31 + 2 + 5
    assert {s.key: s.count for s in funnel.stages} == {"sent": 33, "delivered": 30, "opened": 30, "verified": 0,
                                                       "viewed": 30, "replied": 2}
    assert funnel.median_seconds_to_view == pytest.approx(15.5 * 60, abs=1)
    assert [(r.reason, r.count) for r in figures.failures] == [("email: error 30003", 5)]
    assert [(r.reason, r.count) for r in figures.suppressions] == [("The contact opted out of SMS", 3)]
    assert figures.follow_up.total == 3  # Bob's two, and Ann's from 40 days ago; not the one of two hours ago
    assert figures.replies.total == 3

    html = page(clients["admin"])
    assert "The figures cover every message" in text(html, "data-dashboard-scope")
    # The table beside the chart, one row per day: secure e-mail, secure SMS, standard e-mail, standard SMS, all.
    assert text(html, "data-day", "2030-03-02") == "2030-03-02 1 1 1 0 3"
    assert text(html, "data-day", "2030-03-08") == "2030-03-08 0 1 1 1 3"
    assert text(html, "data-day", "2030-03-31") == "2030-03-31 0 2 0 0 2"
    assert text(html, "data-stage", "viewed").startswith("Viewed the content 30 91 %")
    assert text(html, "data-median") == "15 min"
    assert text(html, "data-reason", "email: error 30003") == "email: error 30003 5"
    assert text(html, "data-reason", "The contact opted out of SMS") == "The contact opted out of SMS 3"
    assert len(texts(html, "data-follow-up")) == 3 and len(texts(html, "data-reply")) == 3
    assert html.count('<svg class="sealed-chart"') == 4  # per day, funnel, failures, suppressions


def test_staff_see_only_the_figures_of_the_messages_they_created(app, month):
    clients, ids = month
    bob = page(clients["bob"])
    assert "the messages you created" in text(bob, "data-dashboard-scope")
    # Secure SMS, standard e-mail, standard SMS, all: Ann's messages are not Bob's figures.
    assert text(bob, "data-day", "2030-03-02") == "2030-03-02 0 1 0 1"
    assert text(bob, "data-day", "2030-03-07") == "2030-03-07 0 0 1 1"
    assert text(bob, "data-day", "2030-03-12") == "2030-03-12 1 1 0 2"
    assert text(bob, "data-stage", "sent").startswith("Sent 2 100 %")
    assert text(bob, "data-median") == "—"
    assert texts(bob, "data-empty", "failures") and texts(bob, "data-empty", "replies")
    assert len(texts(bob, "data-follow-up")) == 2
    ann = page(clients["ann"])
    assert texts(ann, "data-empty", "suppressions")
    assert text(ann, "data-reason", "email: error 30003") == "email: error 30003 5"
    assert len(texts(ann, "data-reply")) == 2 and len(texts(ann, "data-follow-up")) == 1
    with app.app_context():
        assert dashboard(NOW, ids["bob"]).per_day.total == 15 + 3 + 2
        assert dashboard(NOW, ids["ann"]).funnel.median_seconds_to_view == pytest.approx(930, abs=1)


def test_the_dashboard_loads_nothing_from_another_origin_and_needs_no_inline_style_or_script(app, month):
    clients, _ids = month
    html = page(clients["admin"])
    assert "<svg" in html
    assert "http://" not in html and "https://" not in html
    for reference in re.findall(r'\s(?:src|href|xlink:href|action)="([^"]*)"', html):
        # Our own paths and fragments; Flask-Admin's menu toggles name no address at all.
        own = reference.startswith(("/", "#")) and not reference.startswith("//")
        assert own or reference in ("data:,", "javascript:void(0)"), reference
    assert "<style" not in html and not re.search(r"<[^>]+\sstyle\s*=", html)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html) and "<foreignObject" not in html
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        assert "<script" not in svg and "<image" not in svg and "<use" not in svg
