from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, message_content, send_message
from seeds.factories import make_contact


def test_secure_message_is_queued_sent_and_notice_holds_no_content(ctx):
    contact = make_contact(first_name="Ada", pin="2468")
    message = send_message(MessageRequest(contact=contact, channel="sms", body="Your HbA1c is 6.1",
                                          secure=True), SYSTEM)
    db.session.commit()
    assert message.status == "queued"
    assert message_content(message) == (None, "Your HbA1c is 6.1")
    result = dispatch_once()
    assert result.sent == 1
    rows = read_outbox(contact.phone)
    assert len(rows) == 1
    assert "HbA1c" not in rows[0]["body"] and "/m/" in rows[0]["body"]
    assert rows[0]["body"].startswith("Sealed demo clinic: you have a new secure message")


def test_typed_text_is_sent_as_typed_not_rendered_as_a_template(ctx):
    contact = make_contact(first_name="Ada")
    message = send_message(MessageRequest(contact=contact, channel="email", subject="Re: {{ first_name }}",
                                          body="Use {{ braces }} freely", secure=False), SYSTEM)
    db.session.commit()
    assert message_content(message) == ("Re: {{ first_name }}", "Use {{ braces }} freely")
