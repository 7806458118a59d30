"""The read log on a contact's page: every secure message, whether and when and how often the client read it, and
which staff opened it in the console (its content, or the whole conversation after it was sent); the same as a CSV
download, which is itself audited. Staff see the rows of the messages they created; admins all."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from messaging.audit import SYSTEM, Actor
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.models import Contact, Message, User
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.insight import add_message, text, texts
from tests.support.messages import link_path, send
from tests.support.records import audit_entries_in

T0 = datetime(2030, 5, 6, 9, 0)


def staff_actor(email: str) -> Actor:
    return Actor.for_user(db.session.execute(db.select(User).filter_by(email=email)).scalar_one())


@pytest.fixture
def story(app, clock):
    """Three secure messages to Rosa: two by Cy (the first read twice before the others were sent), one by the
    system; Cy opens the second's content in the console, then an admin reads the conversation; a standard message
    is not in the log."""
    clock.at(T0)
    admin = signed_in_client(app, "admin", email="admin-reader@example.com")
    cy = signed_in_client(app, "staff", email="cy@example.com")
    viewer = app.test_client()
    with app.app_context():
        contact = make_contact(first_name="Rosa", pin="2468")
        first = send(contact, body="Your results are in.", secure=True, require_pin=True,
                     actor=staff_actor("cy@example.com"))
        dispatch_once()
        contact_id, first_id, path = contact.id, first.id, link_path(first)
    clock.at(T0 + timedelta(minutes=10))
    assert viewer.get(path).status_code == 200
    assert viewer.post(path, data={"pin": "2468"}).status_code == 200
    clock.at(T0 + timedelta(hours=2))
    assert viewer.post(path, data={"pin": "2468"}).status_code == 200
    clock.at(T0 + timedelta(hours=2, minutes=30))  # sent after the client's visits: not read
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        second = send(contact, body="Your appointment moved.", secure=True, actor=staff_actor("cy@example.com"))
        third = send(contact, body="Reminder.", secure=True, actor=SYSTEM)
        send(contact, body="See you soon", secure=False, actor=staff_actor("cy@example.com"))
        dispatch_once()
        ids = {"contact": contact_id, "first": first_id, "second": second.id, "third": third.id,
               "first_public": db.session.get(Message, first_id).public_id}
    clock.at(T0 + timedelta(hours=3))
    assert cy.post(f"/admin/messages/content/?id={ids['second']}").status_code == 200
    clock.at(T0 + timedelta(hours=4))
    assert admin.get(f"/admin/conversations/{ids['contact']}").status_code == 200
    return admin, cy, ids


def contact_page(client, contact_id: int, **args) -> str:
    query = "".join(f"&{k}={v}" for k, v in args.items())
    response = client.get(f"/admin/contacts/details/?id={contact_id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_contact_page_shows_each_secure_message_read_or_not_and_who_opened_it(app, story):
    admin, _cy, ids = story
    with app.app_context():
        public = {key: db.session.get(Message, ids[key]).public_id for key in ("first", "second", "third")}
    html = contact_page(admin, ids["contact"])
    assert len(texts(html, "data-read-log-message")) == 3  # the standard message is not in the read log
    first = text(html, "data-read-log-message", public["first"])
    assert "read" in first and "6 May 2030, 09:10 UTC" in first and "6 May 2030, 11:00 UTC" in first
    assert texts(html, "data-read", "yes") == ["read"] and len(texts(html, "data-read", "no")) == 2
    assert " 2 " in f" {first} "  # viewed twice
    second = text(html, "data-read-log-message", public["second"])
    assert "not read" in second and "cy@example.com" in second and "admin-reader@example.com" in second
    third = text(html, "data-read-log-message", public["third"])
    assert "admin-reader@example.com" in third and "cy@example.com" not in third


def test_staff_see_the_read_log_of_their_own_messages_only(app, story):
    _admin, cy, ids = story
    html = contact_page(cy, ids["contact"])
    assert len(texts(html, "data-read-log-message")) == 2
    rows = list(csv.reader(io.StringIO(cy.get(f"/admin/read-logs/{ids['contact']}.csv").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    assert len(rows) == 1 + 2
    assert audit_entries_in(app, "contact.read_log_export")[-1].detail["scope"] == "own"


def test_the_read_log_downloads_as_csv_and_the_download_is_audited(app, story):
    admin, _cy, ids = story
    assert audit_entries_in(app, "contact.read_log_export") == []
    response = admin.get(f"/admin/read-logs/{ids['contact']}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"] and response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3
    first = next(row for row in rows if row["message"] == ids["first_public"])
    assert first["read"] == "yes" and first["views"] == "2"
    assert first["first viewed"] == "2030-05-06T09:10:00Z" and first["last viewed"] == "2030-05-06T11:00:00Z"
    assert first["sent"] == "2030-05-06T09:00:00Z" and first["opened in the console by"] == "admin-reader@example.com"
    assert sum(row["read"] == "no" for row in rows) == 2
    [entry] = audit_entries_in(app, "contact.read_log_export")
    assert entry.actor == "admin-reader@example.com" and entry.target_type == "contact"
    assert entry.target_id == str(ids["contact"]) and entry.detail["rows"] == 3
    with app.app_context():  # the audit entry names the contact by id only
        contact = db.session.get(Contact, ids["contact"])
        assert contact.first_name not in str(entry.detail) and contact.phone not in str(entry.detail)
    assert admin.get("/admin/read-logs/999999.csv").status_code == 404


def test_a_contact_without_secure_messages_has_an_empty_read_log_and_a_long_one_is_paged(app, clock):
    clock.at(T0)
    admin = signed_in_client(app, "admin")
    with app.app_context():
        quiet = make_contact(first_name="Quiet")
        send(quiet, body="Standard only", secure=False)
        busy = make_contact(first_name="Busy")
        for n in range(30):
            add_message(busy, T0 - timedelta(hours=n))
        db.session.commit()
        quiet_id, busy_id = quiet.id, busy.id
    assert "No secure message" in text(contact_page(admin, quiet_id), "data-read-log-empty")
    assert len(texts(contact_page(admin, busy_id), "data-read-log-message")) == 25
    assert len(texts(contact_page(admin, busy_id, read_log_page=2), "data-read-log-message")) == 5
