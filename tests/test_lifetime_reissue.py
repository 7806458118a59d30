"""Revoke and re-issue: the old link dies for good, a fresh one goes to the client (API and console)."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.models import Delivery, Message
from messaging.policy.optout import mark_opted_out
from messaging.security.tokens import make_link_token
from seeds.factories import make_contact, make_template
from tests.support.api import assert_error, caller
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send
from tests.support.records import audit_entries_in, event_kinds


def secure_sent(app, **fields) -> tuple[str, str]:
    """A secure SMS whose notice went out: (public id, path of its first link)."""
    with app.app_context():
        contact = make_contact(first_name="Noor", pin="2468")
        message = send(contact, body="Your biopsy result is benign", secure=True, **fields)
        dispatch_once()
        return message.public_id, link_path(message)


def load(public_id: str) -> Message:
    return db.session.execute(db.select(Message).filter_by(public_id=public_id)).scalar_one()


def test_reissuing_a_revoked_message_sends_a_new_link_and_the_old_one_stays_dead(app):
    api = caller(app)
    public_id, old_path = secure_sent(app)
    client = app.test_client()
    assert client.get(old_path).status_code == 200
    assert api.post(f"/messages/{public_id}/revoke").status_code == 200
    assert client.get(old_path).status_code in (404, 410)

    answer = api.post(f"/messages/{public_id}/reissue")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "queued" and answer.json["revoked_at"] is None
    assert answer.json["expires_at"].endswith("Z")
    assert "reissued" in [e["kind"] for e in answer.json["events"]]
    with app.app_context():
        message = load(public_id)
        assert message.token_version == 3  # revoke bumped it once, the re-issue once more
        assert timedelta(hours=167) < message.expires_at - utcnow() <= timedelta(hours=168)
        new_path = link_path(message)
        assert dispatch_once().sent == 1  # the new notice
        notices = [d for d in message.deliveries if d.kind == "notice"]
        assert [d.status for d in notices] == ["sent", "sent"]
        assert db.session.execute(db.select(Message.status).filter_by(id=message.id)).scalar_one() == "sent"
    assert new_path != old_path
    assert client.get(new_path).status_code == 200
    assert client.get(old_path).status_code in (404, 410)
    assert [e.detail["version"] for e in audit_entries_in(app, "message.reissue")] == [3]


def test_an_expired_message_gets_a_link_that_lives_its_templates_lifetime_from_now(app):
    with app.app_context():
        template = make_template("two-days", body="Your results are in", mode="secure", link_ttl_hours=48)
        message = send(make_contact(first_name="Noor", pin="2468"), template=template)
        message.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        public_id, old = message.public_id, link_path(message)
    client = app.test_client()
    assert client.get(old).status_code in (404, 410)
    answer = caller(app).post(f"/messages/{public_id}/reissue")
    assert answer.status_code == 200
    with app.app_context():
        message = load(public_id)
        assert timedelta(hours=47) < message.expires_at - utcnow() <= timedelta(hours=48)
        assert event_kinds(message)[-1] == "reissued"
        assert client.get(link_path(message)).status_code == 200


def test_what_has_no_link_to_reissue_is_a_409_and_unknown_ids_404(app):
    api = caller(app)
    with app.app_context():
        contact = make_contact(first_name="Noor", pin="2468")
        standard = send(contact, body="See you Friday", secure=False).public_id
        later = send(contact, body="Scheduled", secure=True, send_at=utcnow() + timedelta(days=1)).public_id
        cancelled = send(contact, body="Cancelled", secure=True, send_at=utcnow() + timedelta(days=1))
        cancelled.status = "cancelled"
        opted_out = make_contact(first_name="Omar", phone="+14155550177")
        withdrawn = send(opted_out, body="Secure", secure=True)
        mark_opted_out(opted_out, source="staff")
        db.session.commit()
        cancelled, withdrawn = cancelled.public_id, withdrawn.public_id
        deliveries = db.session.query(Delivery).count()
    for public_id in (standard, later, cancelled):
        assert_error(api.post(f"/messages/{public_id}/reissue"), 409, "not_reissuable")
    error = assert_error(api.post(f"/messages/{withdrawn}/reissue"), 409, "not_reissuable")
    assert "withdrew consent" in error["message"]
    assert_error(api.post("/messages/nope/reissue"), 404, "not_found")
    with app.app_context():
        assert db.session.query(Delivery).count() == deliveries  # nothing new queued


def test_the_openapi_document_describes_reissue(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/messages/{message_id}/reissue"]["post"]
    assert set(operation["responses"]) >= {"200", "404", "409"}
    assert "not_reissuable" in operation["description"]


def thread_of(client, contact_id: int) -> str:
    return html.unescape(client.get(f"/admin/conversations/{contact_id}").get_data(as_text=True))


def test_staff_revoke_with_a_confirmation_then_reissue_from_the_thread(app):
    staff = signed_in_client(app, "staff")
    public_id, old_path = secure_sent(app)
    with app.app_context():
        message = load(public_id)
        contact_id, message_id = message.contact_id, message.id
    page = thread_of(staff, contact_id)
    revoke_url = re.search(r'href="([^"]*/messages/revoke/[^"]*)" data-revoke', page).group(1)
    assert "Re-issue link" not in page  # a live link is revoked, not re-issued

    confirm = staff.get(html.unescape(revoke_url))
    assert confirm.status_code == 200 and "stops working at once" in confirm.get_data(as_text=True)
    with app.app_context():
        assert load(public_id).revoked_at is None  # asking changed nothing
    done = staff.post(html.unescape(revoke_url))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/conversations/{contact_id}")
    assert app.test_client().get(old_path).status_code in (404, 410)

    page = thread_of(staff, contact_id)
    assert "Link revoked" in page and "data-revoke" not in page
    reissued = staff.post(f"/admin/messages/reissue/?id={message_id}",
                          data={"next": f"/admin/conversations/{contact_id}"})
    assert reissued.status_code == 302
    with app.app_context():
        message = load(public_id)
        assert message.revoked_at is None and message.status == "queued"
        assert app.test_client().get(link_path(message)).status_code == 200
    assert "A new link is on its way" in thread_of(staff, contact_id)
    assert app.test_client().get(old_path).status_code in (404, 410)


def test_reissue_never_redirects_off_the_console(app):
    staff = signed_in_client(app, "staff")
    public_id, _ = secure_sent(app)
    with app.app_context():
        message = load(public_id)
        message.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        message_id = message.id
    response = staff.post(f"/admin/messages/reissue/?id={message_id}", data={"next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_a_link_of_the_new_version_is_what_the_client_receives(app):
    public_id, _ = secure_sent(app)
    caller(app).post(f"/messages/{public_id}/reissue")
    with app.app_context():
        message = load(public_id)
        assert link_path(message) == "/m/" + make_link_token(public_id, 2)


def test_the_message_page_offers_revoke_then_reissue(app):
    staff = signed_in_client(app, "staff")
    public_id, _ = secure_sent(app)
    with app.app_context():
        message_id = load(public_id).id
    page = html.unescape(staff.get(f"/admin/messages/details/?id={message_id}").get_data(as_text=True))
    assert "data-revoke" in page and "Re-issue link" not in page
    assert staff.post(f"/admin/messages/revoke/?id={message_id}").status_code == 302
    page = html.unescape(staff.get(f"/admin/messages/details/?id={message_id}").get_data(as_text=True))
    assert "data-revoke" not in page and "Re-issue link" in page
