"""Failed deliveries with "Retry now" (admin) and scheduled messages with "Cancel" (staff and admin)."""
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.messages import MessageRequest, send_message
from messaging.models import AuditEntry, Delivery, Message
from seeds.factories import make_contact
from tests.support.console import csrf_token_from, signed_in_client

PROVIDER_ERROR = "Twilio error 30003: Unreachable destination handset"


def failed_delivery(app) -> int:
    """A message whose only delivery ran out of attempts, as the engine leaves it."""
    with app.app_context():
        contact = make_contact(first_name="Fiona", last_name="Failed")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="hello", secure=False), SYSTEM)
        db.session.flush()
        delivery = message.deliveries[0]
        delivery.status, delivery.attempts, delivery.last_error = "failed", 8, PROVIDER_ERROR
        message.status = "failed"
        db.session.commit()
        return delivery.id


def scheduled_message(app, hours: int = 5) -> int:
    with app.app_context():
        contact = make_contact(first_name="Sam", last_name="Later")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Zanzibarian tidings",
                                              secure=True, send_at=utcnow() + timedelta(hours=hours)), SYSTEM)
        db.session.commit()
        return message.id


def test_failed_deliveries_list_the_contact_attempts_and_provider_error(app):
    failed_delivery(app)
    page = signed_in_client(app, "admin").get("/admin/failed-deliveries/").get_data(as_text=True)
    assert "Fiona Failed" in page and PROVIDER_ERROR in page and "Retry now" in page
    assert ">8<" in page and ">sms<" in page


def test_failed_deliveries_empty_state_says_so(app):
    page = signed_in_client(app, "admin").get("/admin/failed-deliveries/").get_data(as_text=True)
    assert "No failed deliveries" in page


def test_retry_now_requeues_the_delivery_and_the_next_pass_sends_it(app):
    delivery_id = failed_delivery(app)
    admin = signed_in_client(app, "admin")
    response = admin.post(f"/admin/failed-deliveries/retry/?id={delivery_id}", follow_redirects=True)
    assert "is queued again" in response.get_data(as_text=True)
    assert "No failed deliveries" in response.get_data(as_text=True)
    with app.app_context():
        delivery = db.session.get(Delivery, delivery_id)
        assert (delivery.status, delivery.attempts) == ("queued", 0)
        assert delivery.message.status == "queued"
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="delivery.retry")).scalar_one()
        assert entry.detail["previous_error"] == PROVIDER_ERROR
        assert dispatch_once().sent == 1
        assert db.session.get(Delivery, delivery_id).status == "sent"


def test_staff_cannot_retry_a_failed_delivery(app):
    delivery_id = failed_delivery(app)
    staff = signed_in_client(app, "staff")
    assert staff.post(f"/admin/failed-deliveries/retry/?id={delivery_id}").status_code == 403
    with app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "failed"


def test_scheduled_list_shows_send_time_without_content(app):
    scheduled_message(app)
    page = signed_in_client(app, "staff").get("/admin/scheduled/").get_data(as_text=True)
    assert "Sam Later" in page and "UTC" in page and "Cancel" in page
    assert "Zanzibarian" not in page


def test_scheduled_empty_state_says_so(app):
    assert "No scheduled messages" in signed_in_client(app, "staff").get("/admin/scheduled/").get_data(as_text=True)


def test_cancel_scheduled_asks_first_then_cancels_and_nothing_is_sent(app):
    message_id = scheduled_message(app)
    staff = signed_in_client(app, "staff")
    confirm = staff.get(f"/admin/scheduled/cancel/?id={message_id}").get_data(as_text=True)
    assert "Cancel the sms message to Sam Later" in confirm
    with app.app_context():
        assert db.session.get(Message, message_id).status == "scheduled"  # asking changed nothing
    done = staff.post(f"/admin/scheduled/cancel/?id={message_id}", follow_redirects=True).get_data(as_text=True)
    assert "is cancelled" in done and "No scheduled messages" in done
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.status == "cancelled"
        assert [d.status for d in message.deliveries] == ["cancelled"]
        assert db.session.execute(db.select(AuditEntry).filter_by(action="message.cancel")).scalar_one()
        delivery = message.deliveries[0]
        delivery.next_attempt_at = utcnow() - timedelta(seconds=1)  # even once due, it is not sent
        db.session.commit()
        assert dispatch_once().claimed == 0
    again = staff.post(f"/admin/scheduled/cancel/?id={message_id}", follow_redirects=True).get_data(as_text=True)
    assert "Only a scheduled message" in again


def test_cancel_needs_the_csrf_token(csrf_app):
    message_id = scheduled_message(csrf_app)
    staff = signed_in_client(csrf_app, "staff")
    assert staff.post(f"/admin/scheduled/cancel/?id={message_id}").status_code == 400
    token = csrf_token_from(staff.get(f"/admin/scheduled/cancel/?id={message_id}").data)
    assert staff.post(f"/admin/scheduled/cancel/?id={message_id}", data={"csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert db.session.get(Message, message_id).status == "cancelled"
