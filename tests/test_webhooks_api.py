"""The webhook API contract: admin keys only, 201 with the secret once, list, read, delete (204), 422s."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from messaging.db import db
from messaging.models import AuditEntry
from messaging.models.webhooks import WebhookDelivery, WebhookEndpoint
from messaging.webhooks import emit
from messaging.webhooks.endpoints import endpoint_secret
from tests.support.api import assert_error, caller

URL = "https://93.184.216.34/hooks/sealed"


@pytest.fixture
def admin(app):
    return caller(app, role="admin")


def _delete(api, path):
    return api.client.delete("/api/v1" + path, headers=api.headers())


def test_register_answers_201_with_the_secret_once_and_reads_never_show_it(app, admin):
    created = admin.post("/webhooks", json={"url": URL, "events": ["message.viewed", "message.sent"]})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["url"] == URL and body["events"] == ["message.sent", "message.viewed"]
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["created_at"].endswith("Z")

    listed = admin.get("/webhooks")
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json["webhooks"]] == [body["id"]]
    one = admin.get(f"/webhooks/{body['id']}")
    assert one.status_code == 200 and one.json["url"] == URL
    for answer in (listed.get_data(as_text=True), one.get_data(as_text=True)):
        assert body["secret"] not in answer and "secret" not in answer
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, body["id"])
        assert body["secret"].encode() not in endpoint.secret_ciphertext  # sealed, not stored plain
        assert endpoint_secret(endpoint) == body["secret"]
        audit = db.session.execute(select(AuditEntry).filter_by(action="webhook.create")).scalar_one()
        assert audit.target_id == str(body["id"]) and body["secret"] not in str(audit.detail)


def test_delete_answers_204_cancels_pending_deliveries_and_then_404(app, admin):
    webhook_id = admin.post("/webhooks", json={"url": URL, "events": ["message.sent"]}).json["id"]
    with app.app_context():
        emit("message.sent", message_id="m_1")
        db.session.commit()
    deleted = _delete(admin, f"/webhooks/{webhook_id}")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(admin.get(f"/webhooks/{webhook_id}"), 404, "not_found")
    assert_error(_delete(admin, f"/webhooks/{webhook_id}"), 404, "not_found")
    assert admin.get("/webhooks").json["webhooks"] == []
    with app.app_context():
        assert db.session.execute(select(WebhookDelivery.status)).scalars().all() == ["cancelled"]
        assert db.session.execute(select(AuditEntry).filter_by(action="webhook.delete")).scalar_one()


def test_staff_keys_are_refused_and_no_key_is_401(app):
    staff = caller(app, role="staff")
    assert_error(staff.post("/webhooks", json={"url": URL, "events": ["message.sent"]}), 403, "forbidden")
    assert_error(staff.get("/webhooks"), 403, "forbidden")
    assert_error(staff.get("/webhooks/1"), 403, "forbidden")
    assert_error(_delete(staff, "/webhooks/1"), 403, "forbidden")
    assert_error(app.test_client().get("/api/v1/webhooks"), 401, "unauthorized")
    with app.app_context():
        assert db.session.execute(select(WebhookEndpoint)).first() is None


@pytest.mark.parametrize("body, field", [
    ({"url": "http://93.184.216.34/hook", "events": ["message.sent"]}, "url"),
    ({"url": "https://127.0.0.1/hook", "events": ["message.sent"]}, "url"),
    ({"url": "https://169.254.169.254/hook", "events": ["message.sent"]}, "url"),
    ({"url": "https://localhost/hook", "events": ["message.sent"]}, "url"),
    ({"url": URL, "events": ["message.exploded"]}, "events"),
    ({"url": URL, "events": []}, "events"),
    ({"url": URL}, "events"),
    ({"events": ["message.sent"]}, "url"),
    ({"url": URL, "events": ["message.sent"], "secret": "mine"}, "secret"),
])
def test_invalid_bodies_are_422_on_their_field(app, admin, body, field):
    assert_error(admin.post("/webhooks", json=body), 422, "invalid", fields=(field,))
    with app.app_context():
        assert db.session.execute(select(WebhookEndpoint)).first() is None


def test_unknown_ids_are_404(admin):
    assert_error(admin.get("/webhooks/999"), 404, "not_found")
    assert_error(admin.get(f"/webhooks/{2**40}"), 404, "not_found")


def test_the_openapi_document_describes_the_webhook_operations(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    paths = document["paths"]
    create = paths["/api/v1/webhooks"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    assert "Sealed-Signature" in create["description"]
    assert set(paths["/api/v1/webhooks"]) >= {"get", "post"}
    assert set(paths["/api/v1/webhooks/{webhook_id}"]) >= {"get", "delete"}
    assert "204" in paths["/api/v1/webhooks/{webhook_id}"]["delete"]["responses"]


def test_at_most_fifty_live_endpoints(app, admin):
    from messaging.audit import SYSTEM
    from messaging.webhooks.endpoints import MAX_ENDPOINTS, register_endpoint

    with app.app_context():
        for n in range(MAX_ENDPOINTS):
            register_endpoint(SYSTEM, f"{URL}/{n}", ["message.sent"])
        db.session.commit()
    assert_error(admin.post("/webhooks", json={"url": URL, "events": ["message.sent"]}), 409, "too_many_endpoints")
    first = admin.get("/webhooks").json["webhooks"][0]["id"]
    assert _delete(admin, f"/webhooks/{first}").status_code == 204
    assert admin.post("/webhooks", json={"url": URL, "events": ["message.sent"]}).status_code == 201
