"""The contact's PIN as staff see it: who set it and when (never the PIN), the refusals of weak PINs,
and clearing a PIN (audited), after which the client's next message asks them to choose one."""
from __future__ import annotations

import re
from datetime import datetime

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.models import Contact
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send
from tests.support.records import audit_entries
from tests.support.viewer import page_state

CODE = re.compile(r"your code is (\d{6})")


def _choose_as_the_client(app, contact_id: int, pin: str) -> None:
    """The client's side: a message, a code, then their own PIN, through the viewer's pages."""
    client = app.test_client()
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        message = send(contact, body="Results inside", secure=True, require_pin=True)
        path, email = link_path(message), contact.email
    assert client.post(f"{path}/code", data={"channel": "email"}).status_code == 200
    with app.app_context():
        dispatch_once()
        code = CODE.search(read_outbox(email)[-1]["body"]).group(1)
    assert page_state(client.post(path, data={"code": code})) == "choose_pin"
    assert page_state(client.post(f"{path}/pin", data={"pin": pin, "pin_confirm": pin})) == "thread"


def test_the_contact_page_says_who_set_the_pin_and_when_and_never_the_pin(app, clock):
    with app.app_context():
        contact_id = make_contact(first_name="Pia").id
    staff = signed_in_client(app, "staff")
    details = staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    assert "PIN not set" in details

    clock.at(datetime(2026, 3, 4, 9, 30))
    staff.post(f"/admin/contacts/pin/?id={contact_id}", data={"pin": "048213"})
    pages = (f"/admin/contacts/details/?id={contact_id}", "/admin/contacts/", f"/admin/contacts/pin/?id={contact_id}")
    for url in pages:
        page = staff.get(url).get_data(as_text=True)
        assert "PIN set by staff on 4 Mar 2026, 09:30 UTC" in page, url
        assert "048213" not in page and "$argon2" not in page

    clock.at(datetime(2026, 3, 6, 14, 5))
    _choose_as_the_client(app, contact_id, "5831")
    page = staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    assert "PIN set by the client on 6 Mar 2026, 14:05 UTC" in page and "5831" not in page


def test_staff_cannot_set_a_pin_that_is_among_the_first_guesses(app):
    with app.app_context():
        contact_id = make_contact(first_name="Guess", date_of_birth="1975-08-09").id
    staff = signed_in_client(app, "staff")
    for pin, says in (("1111", "one digit repeated"), ("6789", "run of digits"), ("1975", "year of birth")):
        refused = staff.post(f"/admin/contacts/pin/?id={contact_id}", data={"pin": pin})
        assert refused.status_code == 422 and says in refused.get_data(as_text=True), pin
    with app.app_context():
        assert db.session.get(Contact, contact_id).pin_hash is None
        assert audit_entries("contact.pin_set") == []


def test_clearing_the_clients_pin_is_audited_and_the_next_message_asks_them_to_choose_again(app):
    with app.app_context():
        contact_id = make_contact(first_name="Again").id
    _choose_as_the_client(app, contact_id, "5831")
    staff = signed_in_client(app, "staff")
    confirm = staff.get(f"/admin/contacts/pin/clear/?id={contact_id}").get_data(as_text=True)
    assert "PIN set by the client on" in confirm and "asked to choose a PIN of their own" in confirm
    assert staff.post(f"/admin/contacts/pin/clear/?id={contact_id}").status_code == 302
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert (contact.pin_hash, contact.pin_set_by, contact.pin_set_at) == (None, None, None)
        [entry] = audit_entries("contact.pin_cleared")
        assert entry.target_id == str(contact_id) and entry.detail == {"was_set_by": "client"}
        assert entry.user_id is not None
    assert "PIN not set" in staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    _choose_as_the_client(app, contact_id, "7204")  # asked again: the choice page comes after the code


def test_with_client_sets_pin_off_the_pages_say_staff_must_set_and_tell_the_pin(app):
    with app.app_context():
        change_setting(SYSTEM, "client_sets_pin", "false")
        db.session.commit()
        contact_id = make_contact(first_name="Told").id
    staff = signed_in_client(app, "staff")
    form = staff.get(f"/admin/contacts/pin/?id={contact_id}").get_data(as_text=True)
    assert "Until one is, PIN-protected messages send this contact a one-time code." in form
    assert "choose their own PIN" not in form
    confirm_text = "send them a one-time code instead"
    staff.post(f"/admin/contacts/pin/?id={contact_id}", data={"pin": "048213"})
    assert confirm_text in staff.get(f"/admin/contacts/pin/clear/?id={contact_id}").get_data(as_text=True)
