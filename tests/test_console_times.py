"""Every console page writes a time the same way, e.g. ``4 Mar 2030, 09:05 UTC``."""
from __future__ import annotations

from datetime import datetime

from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import send

SENT_AT = datetime(2030, 3, 4, 9, 5)
SHOWN = "4 Mar 2030, 09:05 UTC"


def test_the_messages_list_its_details_and_the_conversation_show_a_time_alike(app, clock):
    clock.at(SENT_AT)
    with app.app_context():
        contact = make_contact(first_name="Dana", last_name="Whitfield", phone="+14155550123")
        message = send(contact, body="See you on Monday.", secure=False)
        message_id, contact_id = message.id, contact.id
    staff = signed_in_client(app, "staff")
    pages = {"messages list": "/admin/messages/", "message details": f"/admin/messages/details/?id={message_id}",
             "conversation": f"/admin/conversations/{contact_id}"}
    for name, path in pages.items():
        response = staff.get(path)
        assert response.status_code == 200, name
        assert SHOWN in response.get_data(as_text=True), name
    # Events are listed to the second.
    assert "4 Mar 2030, 09:05:00 UTC" in staff.get(pages["message details"]).get_data(as_text=True)
