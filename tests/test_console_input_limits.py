"""Hostile or oversized input to the console: a clear 4xx page (or the last page of a list), never a
500, and nothing stored."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import AuditEntry, Contact, Message
from seeds.factories import make_contact
from tests.support.console import signed_in_client

HUGE = "99999999999999999999"  # beyond 64 bits


@pytest.fixture
def console(app):
    """An admin's client, 30 contacts (Row00…Row29), one scheduled and one failed message."""
    with app.app_context():
        contacts = [make_contact(first_name=f"First{i:02d}", last_name=f"Row{i:02d}", phone=f"+1415555{i:04d}")
                    for i in range(30)]
        send_message(MessageRequest(contact=contacts[0], channel="sms", body="later", secure=False,
                                    send_at=utcnow() + timedelta(hours=3)), SYSTEM)
        failed = send_message(MessageRequest(contact=contacts[1], channel="sms", body="x", secure=False), SYSTEM)
        db.session.flush()
        failed.status, failed.deliveries[0].status = "failed", "failed"
        db.session.commit()
        app.contact_id = contacts[0].id
    return signed_in_client(app, "admin")


def _state(app) -> tuple:
    with app.app_context():
        counts = tuple(db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                       for model in (Contact, Message))
        names = tuple(db.session.execute(db.select(Contact.first_name).order_by(Contact.id)).scalars())
        return counts, names


LISTS = ["/admin/contacts/", "/admin/messages/", "/admin/audit/", "/admin/users/", "/admin/api-keys/",
         "/admin/conversations/", "/admin/scheduled/", "/admin/failed-deliveries/"]


def test_an_impossible_page_number_shows_a_page_of_the_list_not_an_error(app, console):
    for url in LISTS:
        for page in (HUGE, str(2**63), "-3", "abc"):
            response = console.get(f"{url}?page={page}")
            assert response.status_code == 200, (url, page, response.get_data(as_text=True)[:500])
            text = response.get_data(as_text=True)
            if url in ("/admin/contacts/", "/admin/conversations/") and page in (HUGE, str(2**63)):
                assert "Row29" in text and "Row00" not in text, (url, page)  # the last page
            if url in ("/admin/contacts/", "/admin/conversations/") and page == "-3":
                assert "Row00" in text and "Row29" not in text, (url, page)  # the first page


HOSTILE_IDS = [
    ("GET", f"/admin/contacts/details/?id={HUGE}"),
    ("GET", f"/admin/contacts/edit/?id={HUGE}"),
    ("POST", f"/admin/contacts/edit/?id={HUGE}"),
    ("GET", "/admin/contacts/details/?id=abc"),
    ("GET", "/admin/contacts/details/?id=-1"),
    ("GET", "/admin/contacts/details/?id=%C2%B2"),  # a superscript two: a digit to str.isdigit, not to int()
    ("GET", f"/admin/contacts/pin/?id={HUGE}"),
    ("GET", f"/admin/contacts/pin/clear/?id={HUGE}"),
    ("GET", f"/admin/messages/details/?id={HUGE}"),
    ("POST", f"/admin/messages/content/?id={HUGE}"),
    ("GET", f"/admin/users/deactivate/?id={HUGE}"),
    ("POST", f"/admin/users/reactivate/?id={HUGE}"),
    ("GET", f"/admin/api-keys/revoke/?id={HUGE}"),
    ("GET", f"/admin/scheduled/cancel/?id={HUGE}"),
    ("POST", f"/admin/scheduled/cancel/?id={HUGE}"),
    ("POST", f"/admin/failed-deliveries/retry/?id={HUGE}"),
    ("GET", f"/admin/templates/details/?id={HUGE}"),
    ("GET", f"/admin/templates/edit/?id={HUGE}"),
    ("GET", f"/admin/conversations/{HUGE}"),
    ("GET", f"/admin/conversations/{2**31}"),
]


def test_an_id_that_can_name_no_record_is_a_404_page(app, console):
    before = _state(app)
    for method, url in HOSTILE_IDS:
        response = console.open(url, method=method, data={"first_name": "Changed"} if method == "POST" else None)
        assert response.status_code == 404, (method, url, response.get_data(as_text=True)[:500])
        assert "There is no record" in response.get_data(as_text=True), (method, url)
    assert _state(app) == before


def test_a_contact_id_beyond_the_database_range_in_compose_means_no_contact_chosen(app, console):
    response = console.get(f"/admin/compose/?contact_id={HUGE}")
    assert response.status_code == 200
    response = console.post("/admin/compose/", data={"contact_id": HUGE, "channel": "sms", "body": "Hi",
                                                     "action": "send"})
    assert response.status_code == 422 and "Choose a contact" in response.get_data(as_text=True)


BIG = "x" * (3 * 1024 * 1024)
HOSTILE_FORMS = [
    # label, method, url, form (dict, or raw bytes), status, words on the page
    ("a NUL byte in a name", "POST", "/admin/contacts/new/", {"first_name": "A\x00B"}, 400, "NUL character"),
    ("a NUL byte in a field name", "POST", "/admin/contacts/new/", {"first_name": "A", "x\x00": "1"}, 400,
     "NUL character"),
    ("a NUL byte in an edit", "POST", "/admin/contacts/edit/?id={contact}", {"first_name": "A\x00"}, 400,
     "NUL character"),
    ("a NUL byte in a search", "GET", "/admin/contacts/?search=%00", None, 400, "NUL character"),
    ("a NUL byte in a conversation search", "GET", "/admin/conversations/?q=a%00", None, 400, "NUL character"),
    ("a NUL byte in a tag filter", "GET", "/admin/contacts/?flt0_tag_is=%00", None, 400, "NUL character"),
    ("a NUL byte in an override reason", "POST", "/admin/compose/",
     {"contact_id": "{contact}", "channel": "sms", "body": "Hi", "override_reason": "\x00", "action": "send"},
     400, "NUL character"),
    ("a surrogate encoded as UTF-8 bytes", "POST", "/admin/contacts/new/", b"first_name=%ED%A0%80", 302, ""),
    ("51 tags", "POST", "/admin/contacts/new/",
     {"first_name": "Tags", "tags": ", ".join(f"t{i}" for i in range(51))}, 200, "at most 50 tags"),
    ("a 65-character tag", "POST", "/admin/contacts/new/", {"first_name": "Tags", "tags": "t" * 65}, 200,
     "at most 64 characters"),
    ("a 3 MB contact", "POST", "/admin/contacts/new/", {"first_name": "Big", "last_name": BIG}, 413, "2 MiB"),
    ("a 3 MB contact edit", "POST", "/admin/contacts/edit/?id={contact}", {"first_name": BIG}, 413, "2 MiB"),
    ("send_at in year 9999", "POST", "/admin/compose/",
     {"contact_id": "{contact}", "channel": "sms", "body": "Hi", "send_at": "9999-12-31T23:59", "action": "send"},
     422, "at most 365 days ahead"),
    ("send_at before year 1 in UTC", "POST", "/admin/compose/",
     {"contact_id": "{contact}", "channel": "sms", "body": "Hi", "send_at": "0001-01-01T00:00:00+01:00",
      "action": "send"}, 422, "at most 365 days ahead"),
    ("send_at 400 days ahead", "POST", "/admin/compose/",
     {"contact_id": "{contact}", "channel": "sms", "body": "Hi", "action": "send",
      "send_at": (utcnow() + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")}, 422, "at most 365 days ahead"),
    ("send_at out of range in the live preview", "POST", "/admin/compose/preview",
     {"contact_id": "{contact}", "channel": "sms", "body": "Hi", "send_at": "0001-01-01T00:00:00+01:00"},
     200, "at most 365 days ahead"),
]


def test_hostile_console_input_gets_a_clear_page_and_stores_nothing(app, console):
    for label, method, url, form, status, words in HOSTILE_FORMS:
        url = url.replace("{contact}", str(app.contact_id))
        if isinstance(form, dict):
            form = {name: value.replace("{contact}", str(app.contact_id)) for name, value in form.items()}
        before = _state(app)
        kwargs = {"content_type": "application/x-www-form-urlencoded"} if isinstance(form, bytes) else {}
        response = console.open(url, method=method, data=form, **kwargs)
        assert response.status_code == status, (label, response.get_data(as_text=True)[:800])
        assert words in response.get_data(as_text=True), label
        after = _state(app)
        if label.startswith("a surrogate"):
            # The form decoder turns bytes that are not UTF-8 into U+FFFD: stored as valid text, never raw.
            assert all(name.encode("utf-8") for name in after[1]), label
        else:
            assert after == before, f"{label}: a refused request changed the database"


def test_a_chunked_console_form_past_the_limit_is_refused_not_cut_short(app, console):
    before = _state(app)
    body = b"first_name=Chunked&last_name=" + b"x" * (3 * 1024 * 1024)
    response = console.post("/admin/contacts/new/", input_stream=io.BytesIO(body),
                            content_type="application/x-www-form-urlencoded",
                            environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413, response.get_data(as_text=True)[:500]
    assert "2 MiB" in response.get_data(as_text=True)
    assert _state(app) == before


def test_the_error_pages_leave_the_api_its_json(app, console):
    response = console.post("/api/v1/contacts/%0A", data={"first_name": "A\x00"})
    assert response.status_code == 404 and response.is_json
    assert response.json["error"]["code"] == "not_found"


def test_a_contact_form_with_a_tag_list_at_the_limit_is_saved(app, console):
    tags = ", ".join(f"{i:02d}" + "t" * 62 for i in range(50))
    response = console.post("/admin/contacts/new/", data={"first_name": "Fifty", "tags": tags})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        contact = db.session.execute(db.select(Contact).filter_by(first_name="Fifty")).scalar_one()
        assert len(contact.tags) == 50
        assert db.session.execute(db.select(AuditEntry).filter_by(action="contact.create",
                                                                  target_id=str(contact.id))).scalar_one()
